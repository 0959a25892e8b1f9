"""Kept video frames to stored bytes: PNG (lossless) or JPEG, plus sha256 and perceptual hash.

PNG is written here rather than by `cv2.imencode`, which costs ~29 ms a 640x480 frame at
OpenCV's default level 3 and ~19 ms at level 1 (libpng weighs five row filters per row; bench:
tests/bench/bench_video.py --encoders). Every row uses the 'Up' filter (video frames are
vertically smooth; one vectorised subtraction, as small as libpng's choice) and the stream is
deflated at level 1: ~10 ms with zlib, ~2.6 ms with ISA-L (`isal`, used when installed). Both
give valid, lossless PNG; the bytes differ between the two, so a frame's asset_id depends on the
deflate backend in use (`PNG_DEFLATE`), as it would on libpng's or zlib's version: a video's
identity is its `video_id`, a frame's is (video_id, frame_index).

Every function here releases the GIL for its heavy part (numpy, deflate, libjpeg-turbo, sha256,
OpenCV), so frames encode in parallel threads while PyAV decodes.

The phash is taken from the frame's luminance before encoding (OpenCV's BT.601 grey): for PNG
frames it equals the image path's phash of the stored bytes (`decode_verified` + `phash64`, as
dedup recomputes it) except for rare one-level rounding differences between OpenCV's and
Pillow's grey; for JPEG frames it is within a few bits of it (JPEG loss). Decoding the JPEG
again to match exactly would cost ~0.5 ms a frame.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

from lakehouse.media.phash import phash64
from lakehouse.video.policy import FrameEncoding

_Deflate = Callable[..., bytes]  # (data, level) -> zlib stream

try:  # optional accelerator: same output format, ~4x faster
    from isal import isal_zlib

    _deflate: _Deflate = isal_zlib.compress
    PNG_DEFLATE = "isal"
except ImportError:  # pragma: no cover - depends on the environment
    _deflate = zlib.compress
    PNG_DEFLATE = "zlib"

PNG_LEVEL = 1  # ISA-L's levels 0-2 cost about the same; higher zlib levels cost 1.5-3x
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_UP = 2


@dataclass(frozen=True)
class EncodedFrame:
    """One kept frame as stored: encoded bytes, their sha256 (the asset_id) and the phash."""

    content: bytes
    sha256: str
    phash: int


def encode_png(rgb: np.ndarray, deflate: _Deflate | None = None) -> bytes:
    """Lossless 8-bit RGB PNG of an (h, w, 3) uint8 array; 'Up' row filter, deflate level 1."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"encode_png needs an (h, w, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    rows = np.ascontiguousarray(rgb).reshape(height, width * 3)
    filtered = np.empty((height, width * 3 + 1), np.uint8)
    filtered[:, 0] = _FILTER_UP
    filtered[0, 1:] = rows[0]  # the row above the first is all zeros
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # modulo 256, as PNG defines it
    idat = (deflate or _deflate)(filtered, PNG_LEVEL)
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes((8, 2, 0, 0, 0))
    return b"".join(
        (_PNG_SIGNATURE, _chunk(b"IHDR", ihdr), _chunk(b"IDAT", idat), _chunk(b"IEND", b""))
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG (4:2:0, like the video it comes from) at `quality`, by libjpeg-turbo."""
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(rgb), quality=quality, colorspace="RGB", colorsubsampling="420"
    )


def encode_frame(rgb: np.ndarray, encoding: FrameEncoding) -> EncodedFrame:
    """Encode one decoded RGB frame as `encoding` says, hash it, and phash its luminance."""
    if encoding.format == "png":
        content = encode_png(rgb)
    else:
        assert encoding.quality is not None
        content = encode_jpeg(rgb, encoding.quality)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return EncodedFrame(content, hashlib.sha256(content).hexdigest(), phash64(gray))
