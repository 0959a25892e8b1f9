"""Integrity decode: decode every byte of an image, fail on any damage the decoder can see.

Neither Pillow nor OpenCV alone is enough (see DESIGN.md): Pillow's `verify()` passes truncated
JPEGs, its `load()` ignores PNG CRCs and corrupt JPEG entropy data, and `cv2.imdecode` returns an
array for a truncated JPEG. So JPEGs go through libjpeg-turbo with warnings as errors
(simplejpeg `strict=True`), PNG chunks are CRC-checked here before Pillow decodes them, and
the rest is loaded frame by frame by Pillow with `LOAD_TRUNCATED_IMAGES` off.
"""

from __future__ import annotations

import zlib

import numpy as np
import simplejpeg
from PIL import Image, ImageFile

from lakehouse.errors import CorruptMedia
from lakehouse.media.probe import PILLOW_ERRORS, ImageHeader, open_image

MIN_SIDE = 32  # reduced JPEG decodes stay at least this large on both sides (phash needs 32x32)

# libjpeg warnings that strict mode raises but that say nothing about the pixels: such files
# are decoded again by Pillow, which still fails on truncation.
_BENIGN_JPEG_WARNINGS = (
    "Warning:",
    "Unknown Adobe color transform",
    "bad ICC marker",
    "Invalid SOS parameters for sequential JPEG",
)
_CORRUPT_JPEG_DATA = ("Corrupt JPEG data", "Huffman", "Bogus", "Inconsistent progression")
_CORRUPT_STREAM = ("broken data stream", "unrecognized data stream", "decoder error", "Error -3")


def decode_verified(data: bytes, header: ImageHeader, *, reduced: bool = True) -> np.ndarray:
    """Decode `data` completely and return a 2-D uint8 grayscale image for hashing.

    With `reduced`, JPEGs are decoded with DCT scaling down to >= MIN_SIDE px a side: libjpeg
    still entropy-decodes every coefficient, so truncation and entropy damage are caught at a
    fraction of the cost. Other formats always decode at full size. Raises CorruptMedia with
    reason 'truncated', 'corrupt_data', 'bad_crc' or 'decode_error'; never anything else for
    bad input. Only call it after the policy's pixel limit passed: no bomb check happens here.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on: truncated images would pass")
    if header.format == "jpeg":
        return _decode_jpeg(data, header, reduced)
    if header.format == "png":
        _check_png_chunks(data)
    return _decode_pillow(data, header)


def _decode_jpeg(data: bytes, header: ImageHeader, reduced: bool) -> np.ndarray:
    scale = {"min_height": MIN_SIDE, "min_width": MIN_SIDE} if reduced else {}
    try:
        gray = simplejpeg.decode_jpeg(data, colorspace="GRAY", strict=True, **scale)
    except ValueError as e:
        message = str(e)
        if message.startswith("Premature end of JPEG file"):
            raise CorruptMedia("truncated", f"jpeg: {message}") from e
        if any(m in message for m in _BENIGN_JPEG_WARNINGS) or message.startswith("Unsupported"):
            return _decode_pillow(data, header)  # e.g. 12-bit, lossless: Pillow's turn
        reason = "corrupt_data" if any(m in message for m in _CORRUPT_JPEG_DATA) else "decode_error"
        raise CorruptMedia(reason, f"jpeg: {message}") from e
    return gray.reshape(gray.shape[:2])


def _check_png_chunks(data: bytes) -> None:
    """Walk every chunk to IEND checking CRCs: Pillow skips those of IDAT and later chunks."""
    view, pos, n = memoryview(data), 8, len(data)
    while True:
        if pos + 12 > n:
            raise CorruptMedia("truncated", f"png: data ends at byte {n} before IEND")
        length = int.from_bytes(view[pos : pos + 4], "big")
        end = pos + 12 + length
        if end > n:
            raise CorruptMedia("truncated", f"png: chunk at byte {pos} runs past the end of data")
        kind = bytes(view[pos + 4 : pos + 8])
        if zlib.crc32(view[pos + 4 : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
            raise CorruptMedia(
                "bad_crc", f"png: CRC mismatch in {kind.decode('latin-1')} chunk at byte {pos}"
            )
        if kind == b"IEND":
            return
        pos = end


def _decode_pillow(data: bytes, header: ImageHeader) -> np.ndarray:
    """Load every frame with Pillow (damage in frame 7 is damage too); gray of the first."""
    try:
        im = open_image(data, header.format)
        im.load()
        gray = _to_gray(im)
        for index in range(1, getattr(im, "n_frames", 1)):
            im.seek(index)
            im.load()
    except PILLOW_ERRORS as e:
        message = str(e)
        if "truncated" in message or isinstance(e, EOFError):
            reason = "truncated"
        elif any(m in message for m in _CORRUPT_STREAM):
            reason = "corrupt_data"
        else:
            reason = "decode_error"
        raise CorruptMedia(reason, f"{header.format}: {message or type(e).__name__}") from e
    return gray


def _to_gray(im: Image.Image) -> np.ndarray:
    """8-bit luminance of any Pillow mode; 16/32-bit and float samples are min-max scaled."""
    if im.mode.startswith("I") or im.mode == "F":
        values = np.asarray(im, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        return ((values - low) * (255.0 / max(high - low, 1e-12))).astype(np.uint8)
    if im.mode not in ("L", "RGB", "RGBA", "1", "P", "LA", "CMYK"):
        im = im.convert("RGB")
    return np.asarray(im.convert("L"))
