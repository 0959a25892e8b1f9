"""Perceptual hash: stable under re-encoding and resizing, far apart for different photos."""

from __future__ import annotations

import itertools

import cv2
import imagehash
import numpy as np
import pytest
import simplejpeg
from PIL import Image

from lakehouse import samples
from lakehouse.media.decode import decode_verified
from lakehouse.media.phash import hamming, phash64
from lakehouse.media.probe import probe


def jpeg_hash(data: bytes) -> int:
    return phash64(decode_verified(data, probe(data, "jpeg")))


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def test_signed_int64_and_deterministic():
    for _, rgb in samples.photos():
        value = phash64(gray(rgb))
        assert -(2**63) <= value < 2**63
        assert phash64(gray(rgb)) == value


def test_agrees_with_imagehash():
    for _, rgb in samples.photos():
        g = gray(rgb)
        reference = int(str(imagehash.phash(Image.fromarray(g))), 16)
        assert hamming(phash64(g), reference) <= 6


@pytest.mark.parametrize("seed", range(4))
def test_near_identical_images_are_close(seed):
    rgb = samples.make_rgb(seed)
    original = simplejpeg.encode_jpeg(rgb, quality=90)
    requality = simplejpeg.encode_jpeg(rgb, quality=45)
    half = simplejpeg.encode_jpeg(cv2.resize(rgb, (320, 240), interpolation=cv2.INTER_AREA))
    h = jpeg_hash(original)
    assert hamming(h, jpeg_hash(requality)) <= 10
    assert hamming(h, jpeg_hash(half)) <= 10


def test_different_photos_are_far():
    hashes = [phash64(gray(rgb)) for _, rgb in samples.photos()]
    for a, b in itertools.combinations(hashes, 2):
        assert hamming(a, b) >= 20


def test_reduced_and_full_decode_hash_alike():
    data = samples.make_jpeg(21)
    header = probe(data, "jpeg")
    full = phash64(decode_verified(data, header, reduced=False))
    assert hamming(phash64(decode_verified(data, header)), full) <= 6


def test_hamming():
    assert hamming(0, 0) == 0
    assert hamming(0, -1) == 64
    assert hamming(-(2**63), 0) == 1
    assert hamming(0b1011, 0b0001) == hamming(0b0001, 0b1011) == 2


def test_rejects_non_2d():
    with pytest.raises(ValueError, match="2-D"):
        phash64(np.zeros((8, 8, 3), np.uint8))
