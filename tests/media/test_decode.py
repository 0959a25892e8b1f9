"""Integrity decode: every kind of damage the decoder can see fails, at reduced scale too."""

from __future__ import annotations

import contextlib
import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from lakehouse import samples
from lakehouse.errors import CorruptMedia
from lakehouse.media.decode import MIN_SIDE, decode_verified
from lakehouse.media.formats import sniff
from lakehouse.media.probe import probe


def verdict(data: bytes, *, reduced: bool = True) -> str | None:
    """None when `data` decodes cleanly, else the CorruptMedia reason."""
    try:
        decode_verified(data, probe(data, sniff(data) or ""), reduced=reduced)
    except CorruptMedia as e:
        return e.reason
    return None


def save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def jpegs() -> dict[str, bytes]:
    baseline = samples.make_jpeg(11)
    progressive = save(Image.open(io.BytesIO(baseline)), "JPEG", quality=90, progressive=True)
    return {"baseline": baseline, "progressive": progressive}


def test_reduced_jpeg_is_small_gray(jpegs):
    for data in jpegs.values():
        small = decode_verified(data, probe(data, "jpeg"))
        full = decode_verified(data, probe(data, "jpeg"), reduced=False)
        assert small.dtype == np.uint8 and small.ndim == 2
        assert small.shape == (60, 80) and full.shape == (480, 640)
    tiny = samples.tiny_jpeg()
    assert decode_verified(tiny, probe(tiny, "jpeg")).shape == (16, 16)  # no smaller than it is
    strip = samples.panorama_jpeg()
    assert min(decode_verified(strip, probe(strip, "jpeg")).shape) >= MIN_SIDE


@pytest.mark.parametrize("kind", ["baseline", "progressive"])
@pytest.mark.parametrize("keep", [0.3, 0.5, 0.9, 0.999])
def test_truncated_jpeg_fails_at_reduced_scale(jpegs, kind, keep):
    data = jpegs[kind]
    cut = data[: int(len(data) * keep)]
    assert verdict(cut) == verdict(cut, reduced=False) == "truncated"


def test_jpeg_missing_only_eoi_is_truncated(jpegs):
    assert verdict(jpegs["baseline"][:-2]) == "truncated"


def _damages(data: bytes) -> dict[str, bytes]:
    """Damage in the middle of the entropy-coded data."""
    mid = (samples.scan_start(data) + len(data)) // 2
    noise = np.random.default_rng(0).integers(0, 255, 512, np.uint8).tobytes()
    return {
        "random_512": data[:mid] + noise + data[mid + 512 :],
        "zeroed_512": data[:mid] + bytes(512) + data[mid + 512 :],
        "inserted_bytes": data[:mid] + noise[:64] + data[mid:],
        "deleted_bytes": data[:mid] + data[mid + 64 :],
        "inserted_eoi": data[:mid] + b"\xff\xd9" + data[mid:],
        "inserted_rst": data[:mid] + b"\xff\xd3" + data[mid:],
        "inserted_dht": data[:mid] + b"\xff\xc4\x00\x04\x00\x00" + data[mid:],
    }


@pytest.mark.parametrize("kind", ["baseline", "progressive"])
def test_entropy_damage_fails_at_reduced_scale(jpegs, kind):
    """Reduced and full decoding agree on every damage; a marker inside the scan always
    fails. (Overwritten bytes fail only when Huffman decoding does not resynchronise.)"""
    for name, damaged in _damages(jpegs[kind]).items():
        reduced = verdict(damaged)
        assert reduced == verdict(damaged, reduced=False), name
        if name.startswith("inserted_") and name != "inserted_bytes":
            assert reduced == "corrupt_data", name


def test_reduced_sees_exactly_what_full_sees():
    """Random same-length damage: libjpeg's Huffman decoding resynchronises on some of it,
    and no decoder can tell; whatever full decoding catches, reduced decoding catches too."""
    caught = 0
    for seed in range(30):
        data = samples.make_jpeg(seed, (320, 240))
        rng = np.random.default_rng(seed)
        at = int(rng.integers(samples.scan_start(data), len(data) - 100))
        damaged = data[:at] + rng.integers(0, 255, 48, np.uint8).tobytes() + data[at + 48 :]
        reduced = verdict(damaged)
        assert reduced == verdict(damaged, reduced=False)
        caught += reduced is not None
    assert caught >= 15


def test_samples_damaged_jpeg():
    assert verdict(samples.damaged_jpeg()) == "corrupt_data"


@pytest.mark.parametrize("make", [samples.cmyk_jpeg, samples.ycck_jpeg, samples.grayscale_jpeg])
def test_other_jpeg_colour_spaces_decode(make):
    data = make()
    gray = decode_verified(data, probe(data, "jpeg"))
    assert gray.dtype == np.uint8 and gray.ndim == 2 and min(gray.shape) >= MIN_SIDE
    assert verdict(data[: len(data) // 2]) == "truncated"


def test_unsupported_jpeg_is_corrupt_media_not_a_crash():
    assert verdict(samples.jpeg_12bit_header()) == "decode_error"


def test_benign_libjpeg_warning_falls_back_to_pillow():
    """'unknown JFIF revision' is a warning strict mode raises; it says nothing about pixels."""
    data = bytearray(samples.make_jpeg(4, (320, 240)))
    data[data.index(b"JFIF\x00") + 5] = 2  # JFIF 2.01
    assert verdict(bytes(data)) is None
    assert verdict(bytes(data[: len(data) // 2])) == "truncated"


def test_png_crc_mismatch_with_intact_pixels():
    data = samples.bad_crc_png()
    Image.open(io.BytesIO(data)).load()  # Pillow's load() alone does not notice ...
    assert verdict(data) == "bad_crc"  # ... this does


def test_png_truncation_anywhere():
    data = samples.good_png()
    for keep in (40, len(data) // 3, len(data) - 12, len(data) - 1):
        assert verdict(data[:keep]) == "truncated", keep


def test_png_corrupt_zlib_stream_with_valid_crc():
    data = bytearray(samples.good_png())
    idat = data.index(b"IDAT")
    length = int.from_bytes(data[idat - 4 : idat], "big")
    body = bytes(data[idat + 4 : idat + 4 + length // 2]) + bytes(64)
    chunk = b"IDAT" + body
    fixed = len(body).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    broken = bytes(data[: idat - 4]) + fixed + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    assert verdict(broken) in ("corrupt_data", "truncated")


def test_sixteen_bit_images_decode_to_uint8():
    ramp = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    for data in (
        samples.png_16bit(),
        cv2.imencode(".png", ramp)[1].tobytes(),
        cv2.imencode(".tiff", ramp)[1].tobytes(),
    ):
        gray = decode_verified(data, probe(data, sniff(data) or ""))
        assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.max() > gray.min()


@pytest.mark.parametrize(
    "make",
    [samples.good_webp, samples.good_bmp, samples.good_tiff, samples.palette_gif,
     samples.animated_gif, samples.animated_png, samples.rgba_png, samples.palette_png],
)  # fmt: skip
def test_other_formats_decode_and_fail_when_truncated(make):
    data = make()
    gray = decode_verified(data, probe(data, sniff(data) or ""))
    assert gray.dtype == np.uint8 and gray.ndim == 2
    assert verdict(data[: len(data) * 7 // 10]) == "truncated"


def test_only_corrupt_media_escapes():
    """Random damage of every format: probe and decode raise CorruptMedia or nothing."""
    rng = np.random.default_rng(7)
    sources = [samples.make_jpeg(1, (96, 64)), samples.good_png(), samples.good_webp(),
               samples.good_bmp(), samples.good_tiff(), samples.animated_gif(),
               samples.cmyk_jpeg(), samples.progressive_jpeg()]  # fmt: skip
    for i in range(240):
        data = bytearray(sources[i % len(sources)])
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(0, len(data)))
            data[at : at + 4] = rng.bytes(4)
        fmt = sniff(bytes(data[:64]))
        if fmt is None:
            continue
        with contextlib.suppress(CorruptMedia):
            decode_verified(bytes(data), probe(bytes(data), fmt))


def test_refuses_to_run_with_truncated_loading_on(monkeypatch):
    data = samples.good_png()
    header = probe(data, "png")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode_verified(data, header)
