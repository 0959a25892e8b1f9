"""Header probing: geometry, samples, bit depth, colour mode, frames, EXIF; no pixels decoded."""

from __future__ import annotations

import io
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from lakehouse import samples
from lakehouse.errors import CorruptMedia
from lakehouse.media.formats import sniff
from lakehouse.media.probe import ImageHeader, probe


def header_of(data: bytes) -> ImageHeader:
    fmt = sniff(data[:64])
    assert fmt is not None
    return probe(data, fmt)


def save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_baseline_jpeg():
    h = header_of(samples.make_jpeg(3))
    assert h == ImageHeader("jpeg", 640, 480, 3, 8, "rgb", 1, None, progressive=False)


def test_progressive_jpeg():
    h = header_of(samples.progressive_jpeg())
    assert (h.width, h.height, h.progressive) == (320, 240, True)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_jpeg_exif_orientation(orientation):
    assert header_of(samples.oriented_jpeg(orientation)).exif_orientation == orientation


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_exif_orientation_other_formats(fmt):
    exif = Image.Exif()
    exif[0x0112] = 6
    data = save(Image.new("RGB", (64, 48), (90, 20, 30)), fmt, exif=exif)
    assert header_of(data).exif_orientation == 6


def test_png_16bit_reads_16():
    h = header_of(samples.png_16bit())
    assert (h.channels, h.bit_depth, h.color_mode) == (3, 16, "rgb")


def test_tiff_16bit_reads_16():
    gray16 = cv2.imencode(".tiff", np.full((40, 50), 40000, np.uint16))[1].tobytes()
    rgb16 = cv2.imencode(".tiff", np.full((40, 50, 3), 40000, np.uint16))[1].tobytes()
    assert (header_of(gray16).channels, header_of(gray16).bit_depth) == (1, 16)
    assert (header_of(rgb16).channels, header_of(rgb16).bit_depth) == (3, 16)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (samples.cmyk_jpeg, (4, 8, "cmyk")),
        (samples.ycck_jpeg, (4, 8, "ycck")),
        (samples.grayscale_jpeg, (1, 8, "gray")),
        (samples.rgba_png, (4, 8, "rgba")),
        (samples.palette_png, (1, 8, "palette")),
        (samples.palette_gif, (1, 8, "palette")),
        (samples.good_webp, (3, 8, "rgb")),
        (samples.good_bmp, (3, 8, "rgb")),
        (samples.good_tiff, (3, 8, "rgb")),
    ],
)
def test_channels_depth_mode(make, expected):
    h = header_of(make())
    assert (h.channels, h.bit_depth, h.color_mode) == expected


def test_low_depth_palette_and_gray_png():
    ten_colours = Image.fromarray(np.arange(1600, dtype=np.uint8).reshape(40, 40) % 10).convert("P")
    four_bit = save(ten_colours, "PNG", bits=4)
    assert (header_of(four_bit).bit_depth, header_of(four_bit).color_mode) == (4, "palette")
    one_bit = save(Image.new("1", (40, 40)), "PNG")
    assert (header_of(one_bit).bit_depth, header_of(one_bit).color_mode) == (1, "gray")
    gray_alpha = save(Image.new("LA", (40, 40)), "PNG")
    assert (header_of(gray_alpha).channels, header_of(gray_alpha).color_mode) == (2, "gray_alpha")


@pytest.mark.parametrize(
    ("make", "frames"),
    [(samples.animated_gif, 4), (samples.animated_png, 3), (samples.good_png, 1)],
)
def test_frames(make, frames):
    assert header_of(make()).frames == frames


def test_multipage_tiff_and_animated_webp():
    pages = [Image.new("RGB", (40, 30), (i * 60, 0, 0)) for i in range(3)]
    tiff = save(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    webp = save(pages[0], "WEBP", save_all=True, append_images=pages[1:], duration=50)
    assert header_of(tiff).frames == 3
    assert header_of(webp).frames == 3


def test_interlaced_png_is_progressive():
    plain = save(Image.new("RGB", (40, 40)), "PNG")
    assert header_of(plain).progressive is False
    ihdr = plain[16:28] + b"\x01"  # interlace method 1: Adam7
    adam7 = plain[:16] + ihdr + zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big") + plain[33:]
    assert header_of(adam7).progressive is True


def test_bomb_header_is_read_without_pixels():
    data = samples.bomb_png(50_000)
    start = time.perf_counter()
    h = header_of(data)
    assert time.perf_counter() - start < 0.05
    assert (h.width, h.height, h.channels, h.bit_depth) == (50_000, 50_000, 3, 8)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP"])
def test_pillow_formats_beyond_pillows_bomb_limit(fmt):
    """Pillow's own limit (~179 MP) must not decide: the header still probes."""
    side = 16_383 if fmt == "WEBP" else 20_000  # WebP's maximum side
    data = save(Image.new("1" if fmt != "WEBP" else "L", (side, 1)), fmt)
    if fmt == "BMP":  # patch the height field so that the header claims side x side
        data = data[:22] + side.to_bytes(4, "little") + data[26:]
    h = header_of(data)
    assert h.width == side


def test_jpeg_probe_is_cheap():
    data = samples.oriented_jpeg()
    start = time.perf_counter()
    for _ in range(1000):
        probe(data, "jpeg")
    assert (time.perf_counter() - start) / 1000 < 200e-6


@pytest.mark.parametrize(
    ("make", "keep"),
    [
        (lambda: samples.make_jpeg(5, (64, 48)), 10),
        (samples.good_png, 20),
        (samples.good_webp, 20),
        (samples.good_tiff, 6),
        (samples.good_bmp, 20),
        (samples.palette_gif, 8),
    ],
)
def test_truncated_header(make, keep):
    data = make()[:keep]
    with pytest.raises(CorruptMedia) as caught:
        probe(data, sniff(data) or "")
    assert caught.value.reason == "truncated"


def test_bad_headers():
    png = bytearray(samples.good_png())
    png[25] = 5  # colour type 5 does not exist
    with pytest.raises(CorruptMedia, match="colour type") as caught:
        probe(bytes(png), "png")
    assert caught.value.reason == "bad_header"
    with pytest.raises(CorruptMedia) as caught:
        probe(samples.jpeg_without_frame_header(), "jpeg")
    assert caught.value.reason == "bad_header"
    with pytest.raises(CorruptMedia) as caught:
        probe(b"GIF89a" + bytes(20), "gif")
    assert caught.value.reason == "bad_header"
