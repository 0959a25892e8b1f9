"""Frame encoding: lossless PNG of our own writer, JPEG quality, hashes."""

from __future__ import annotations

import hashlib
import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from lakehouse.media.phash import phash64
from lakehouse.samples import make_rgb
from lakehouse.video import encode
from lakehouse.video.encode import encode_frame, encode_jpeg, encode_png
from lakehouse.video.policy import FrameEncoding

BACKENDS = [pytest.param(zlib.compress, id="zlib")]
try:
    from isal import isal_zlib

    BACKENDS.append(pytest.param(isal_zlib.compress, id="isal"))
except ImportError:
    pass


def decode_rgb(png: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.parametrize("deflate", BACKENDS)
@pytest.mark.parametrize("size", [(1, 1), (5, 3), (160, 120), (641, 479)])
def test_png_is_lossless(deflate, size):
    rng = np.random.default_rng(sum(size))
    for rgb in (rng.integers(0, 256, (size[1], size[0], 3), np.uint8), make_rgb(3, size)):
        png = encode_png(rgb, deflate)
        assert np.array_equal(decode_rgb(png), rgb)
        with Image.open(io.BytesIO(png)) as image:  # a second, independent decoder
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", size)
            assert np.array_equal(np.asarray(image), rgb)


def test_png_chunks_are_valid():
    from lakehouse.media.decode import _check_png_chunks  # the image path's own CRC walk

    png = encode_png(make_rgb(4, (64, 48)))
    _check_png_chunks(png)
    assert png[12:16] == b"IHDR" and png[-8:-4] == b"IEND"


def test_png_accepts_non_contiguous_views():
    bgr = make_rgb(5, (64, 48))
    rgb = bgr[:, :, ::-1]
    assert np.array_equal(decode_rgb(encode_png(rgb)), rgb)


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8),
                                 np.zeros((4, 4, 3), np.uint16)])  # fmt: skip
def test_png_refuses_other_arrays(bad):
    with pytest.raises(ValueError, match="uint8"):
        encode_png(bad)


@pytest.mark.parametrize("quality", [30, 75, 90])
def test_jpeg_quality_is_honoured(quality):
    rgb = make_rgb(6, (160, 120))
    jpeg = encode_jpeg(rgb, quality)
    reference = io.BytesIO()
    Image.fromarray(rgb).save(reference, "JPEG", quality=quality)
    with Image.open(io.BytesIO(jpeg)) as ours, Image.open(reference) as theirs:
        assert ours.quantization == theirs.quantization  # libjpeg's tables for that quality
        assert ours.size == (160, 120)


def test_encode_frame_hashes():
    rgb = make_rgb(7, (160, 120))
    for encoding in (FrameEncoding("png"), FrameEncoding("jpeg", 80)):
        frame = encode_frame(rgb, encoding)
        assert frame.sha256 == hashlib.sha256(frame.content).hexdigest()
        assert frame.phash == phash64(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def test_png_backend_is_named():
    assert encode.PNG_DEFLATE in ("isal", "zlib")
