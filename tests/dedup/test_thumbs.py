"""The aligned thumbnail correlation: tolerant of small shifts, not of large ones."""

from __future__ import annotations

import numpy as np

from lakehouse.dedup.evalset import synthetic
from lakehouse.dedup.thumbs import SIDE, similarity, thumbnail


def gray(seed: int) -> np.ndarray:
    return synthetic(seed).mean(axis=2).astype(np.uint8)


def test_small_shift_aligns_large_shift_does_not() -> None:
    image = gray(3)
    h, w = image.shape
    small = image[: h - h // 40, w // 40 :]  # 2.5% off two sides
    large = image[h // 3 :, w // 3 :]
    assert similarity(thumbnail(image), thumbnail(small)) > 0.95
    assert similarity(thumbnail(image), thumbnail(large)) < 0.8


def test_symmetric_and_bounded() -> None:
    a, b = thumbnail(gray(1)), thumbnail(gray(2))
    assert similarity(a, b) == similarity(b, a)
    assert -1.0 <= similarity(a, b) <= 1.0
    assert similarity(a, a) > 0.999


def test_flat_thumbnails() -> None:
    flat = np.full((SIDE, SIDE), 7.0, np.float32)
    assert similarity(flat, flat + 100) == 1.0
    assert similarity(flat, thumbnail(gray(1))) == 0.0
