"""Image headers without pixels: size, samples, bit depth, colour mode, frames, EXIF orientation.

JPEG and PNG headers are parsed by hand (Pillow reports a 16-bit RGB PNG as 8-bit 'RGB', and a
marker walk costs microseconds); the other formats use Pillow's lazy open, constructed from the
plugin class so that Pillow's decompression-bomb check never runs: the caller's policy decides
how many pixels are too many, before anything is decoded.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Literal

from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from lakehouse.errors import CorruptMedia

COLOR_MODES: frozenset[str] = frozenset(
    {"rgb", "rgba", "gray", "gray_alpha", "palette", "cmyk", "ycck", "other"}
)

_PIL_CLASSES: dict[str, type[ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "gif": GifImagePlugin.GifImageFile,
}
# Pillow mode -> (colour mode, bits per sample) for formats Pillow opens.
_PIL_MODES: dict[str, tuple[str, int]] = {
    "1": ("gray", 1),
    "L": ("gray", 8),
    "LA": ("gray_alpha", 8),
    "La": ("gray_alpha", 8),
    "P": ("palette", 8),
    "PA": ("palette", 8),
    "RGB": ("rgb", 8),
    "RGBX": ("rgb", 8),
    "YCbCr": ("rgb", 8),
    "RGBA": ("rgba", 8),
    "RGBa": ("rgba", 8),
    "CMYK": ("cmyk", 8),
    "I;16": ("gray", 16),
    "I;16L": ("gray", 16),
    "I;16B": ("gray", 16),
    "I;16N": ("gray", 16),
    "I": ("gray", 32),
    "F": ("gray", 32),
}
# What Pillow raises on malformed input (a GIF frame far past its canvas trips its bomb check).
PILLOW_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, struct.error,
    Image.DecompressionBombError,
)  # fmt: skip
# Smallest byte count that can hold each Pillow-read format's fixed header.
_MIN_HEADER = {"webp": 30, "bmp": 26, "tiff": 8, "gif": 13}
_PNG_COLOR_TYPES = {  # colour type -> (colour mode, channels, allowed bit depths)
    0: ("gray", 1, (1, 2, 4, 8, 16)),
    2: ("rgb", 3, (8, 16)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("gray_alpha", 2, (8, 16)),
    6: ("rgba", 4, (8, 16)),
}
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
_JPEG_PROGRESSIVE = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_ORIENTATION_TAG = 0x0112
_ByteOrder = Literal["little", "big"]


@dataclass(frozen=True)
class ImageHeader:
    """What an image's header says, before any pixel is decoded.

    `channels` counts stored samples per pixel (a palette image has 1: its index) and
    `bit_depth` is bits per stored sample; `progressive` is JPEG progressive or PNG Adam7.
    """

    format: str
    width: int
    height: int
    channels: int
    bit_depth: int
    color_mode: str
    frames: int
    exif_orientation: int | None
    progressive: bool = False


def probe(data: bytes, fmt: str) -> ImageHeader:
    """Read the header of `data` in image format `fmt` (from `sniff`); never decodes pixels.

    Raises CorruptMedia('truncated') when the data ends inside the header and
    CorruptMedia('bad_header') when the header is malformed.
    """
    if fmt == "jpeg":
        return _probe_jpeg(data)
    if fmt == "png":
        return _probe_png(data)
    if fmt in _MIN_HEADER:
        return _probe_pillow(data, fmt)
    raise CorruptMedia("bad_header", f"not an image format: {fmt}")


def open_image(data: bytes, fmt: str) -> ImageFile.ImageFile:
    """Pillow's lazy open of `data` as `fmt`, without `Image.open`'s decompression-bomb check.

    Constructing the format's plugin class directly skips the check (and the guessing of the
    format): callers refuse oversized images by policy before they get here.
    """
    return _PIL_CLASSES[fmt](io.BytesIO(data))


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "big")


def _probe_jpeg(data: bytes) -> ImageHeader:
    """Walk the JPEG markers up to the first scan: SOFn for geometry, APP1 Exif, APP14 Adobe."""
    pos, n = 2, len(data)
    sof: tuple[int, bytes] | None = None
    orientation: int | None = None
    adobe_transform: int | None = None
    reached_scan = False
    while pos < n:
        if data[pos] != 0xFF:
            raise CorruptMedia("bad_header", f"no JPEG marker at byte {pos}")
        while pos < n and data[pos] == 0xFF:  # a marker may be preceded by 0xFF fill bytes
            pos += 1
        if pos + 3 > n:
            break
        marker, length = data[pos], _u16(data, pos + 1)
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9) or length < 2:
            raise CorruptMedia("bad_header", f"bad JPEG marker 0xFF{marker:02X} before the scan")
        if marker == 0xDA:
            reached_scan = True
            break
        if pos + length > n:
            break
        segment = data[pos + 2 : pos + length]
        if marker in _JPEG_SOF and sof is None:
            sof = (marker, segment)
        elif marker == 0xE1 and segment[:6] == b"Exif\x00\x00" and orientation is None:
            orientation = _tiff_orientation(segment[6:])
        elif marker == 0xEE and segment[:5] == b"Adobe" and len(segment) >= 12:
            adobe_transform = segment[11]
        pos += length
    if sof is None:
        if reached_scan:
            raise CorruptMedia("bad_header", "JPEG has no frame header (SOF) before its scan")
        raise CorruptMedia("truncated", "JPEG ends before its frame header (SOF)")
    marker, seg = sof
    if len(seg) < 6:
        raise CorruptMedia("bad_header", "JPEG frame header (SOF) too short")
    precision, height, width, components = seg[0], _u16(seg, 1), _u16(seg, 3), seg[5]
    if width == 0 or height == 0 or components == 0 or len(seg) < 6 + 3 * components:
        raise CorruptMedia(
            "bad_header", f"JPEG frame header: {width}x{height}, {components} components"
        )
    if components == 4:
        mode = "ycck" if adobe_transform == 2 else "cmyk"
    else:
        mode = {1: "gray", 3: "rgb"}.get(components, "other")
    return ImageHeader(
        "jpeg", width, height, components, precision, mode, 1, orientation,
        progressive=marker in _JPEG_PROGRESSIVE,
    )  # fmt: skip


def _probe_png(data: bytes) -> ImageHeader:
    """IHDR for geometry and bit depth; acTL (APNG frame count) and eXIf up to the first IDAT."""
    if len(data) < 33:
        raise CorruptMedia("truncated", "PNG ends inside its IHDR chunk")
    if data[12:16] != b"IHDR" or _u32(data, 8) != 13:
        raise CorruptMedia("bad_header", "PNG does not start with an IHDR chunk")
    width, height, depth, ctype, interlace = (
        _u32(data, 16), _u32(data, 20), data[24], data[25], data[28]
    )  # fmt: skip
    if ctype not in _PNG_COLOR_TYPES or depth not in _PNG_COLOR_TYPES[ctype][2]:
        raise CorruptMedia("bad_header", f"PNG colour type {ctype} with bit depth {depth}")
    if width == 0 or height == 0 or width > 2**31 - 1 or height > 2**31 - 1 or interlace > 1:
        raise CorruptMedia("bad_header", f"PNG IHDR: {width}x{height}, interlace {interlace}")
    frames, orientation = 1, None
    pos = 33
    while pos + 8 <= len(data):
        length, ctype_ = _u32(data, pos), data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if ctype_ in (b"IDAT", b"IEND") or len(body) < length:
            break
        if ctype_ == b"acTL" and length >= 4:
            frames = max(1, _u32(body, 0))
        elif ctype_ == b"eXIf":
            orientation = _tiff_orientation(body)
        pos += 12 + length
    mode, channels, _ = _PNG_COLOR_TYPES[ctype]
    return ImageHeader(
        "png", width, height, channels, depth, mode, frames, orientation, interlace == 1
    )


def _tiff_orientation(tiff: bytes) -> int | None:
    """EXIF orientation (tag 0x0112 of IFD0) of a TIFF-structured block; None if absent or bad."""
    if tiff[:2] not in (b"II", b"MM") or len(tiff) < 8:
        return None
    order: _ByteOrder = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    count = int.from_bytes(tiff[ifd : ifd + 2], order)
    for at in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        if int.from_bytes(tiff[at : at + 2], order) == _ORIENTATION_TAG:
            value = int.from_bytes(tiff[at + 8 : at + 10], order)
            return value if 1 <= value <= 8 else None
    return None


def _probe_pillow(data: bytes, fmt: str) -> ImageHeader:
    """WebP, BMP, TIFF and GIF through Pillow's lazy open (headers only, no bomb check)."""
    if len(data) < _MIN_HEADER[fmt]:
        raise CorruptMedia("truncated", f"{fmt} ends inside its header")
    if fmt == "webp" and int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise CorruptMedia("truncated", "WebP is shorter than its RIFF header says")
    if fmt == "tiff":
        _check_tiff_ifd0(data)
    try:
        im = open_image(data, fmt)
        frames = getattr(im, "n_frames", 1)
        orientation = im.getexif().get(_ORIENTATION_TAG)
    except PILLOW_ERRORS as e:
        raise CorruptMedia("bad_header", f"{fmt}: {e}") from e
    mode, bits = _PIL_MODES.get(im.mode, ("other", 8))
    channels = len(im.getbands())
    if isinstance(im, TiffImagePlugin.TiffImageFile):  # Pillow reads 16-bit RGB as 'RGB'
        channels = int(im.tag_v2.get(277, channels))  # SamplesPerPixel
        bits = max(im.tag_v2.get(258, (bits,)))  # BitsPerSample, one per sample
    width, height = im.size
    return ImageHeader(
        fmt, width, height, channels, int(bits), mode, int(frames),
        orientation if orientation in range(1, 9) else None,
        progressive=bool(im.info.get("interlace")),
    )  # fmt: skip


def _check_tiff_ifd0(data: bytes) -> None:
    """Raise CorruptMedia('truncated') when the first IFD lies beyond the end of the data."""
    order: _ByteOrder = "little" if data[:2] == b"II" else "big"
    if data[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: 8-byte offsets, 20-byte entries
        ifd, count_size, entry = int.from_bytes(data[8:16], order), 8, 20
    else:
        ifd, count_size, entry = int.from_bytes(data[4:8], order), 2, 12
    if ifd + count_size > len(data):
        raise CorruptMedia("truncated", "TIFF ends before its first IFD")
    count = int.from_bytes(data[ifd : ifd + count_size], order)
    if ifd + count_size + entry * count > len(data):
        raise CorruptMedia("truncated", "TIFF ends inside its first IFD")
