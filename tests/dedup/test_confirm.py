"""The second signal: near-identity geometry for textured images, thumbnails for smooth ones."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lakehouse.dedup.confirm import (
    MIN_KEYPOINTS,
    ORB,
    SIDE,
    THUMB,
    THUMBNAIL,
    confirm,
    inliers,
    reduced_gray,
    signature,
    similarity,
)
from lakehouse.dedup.evalset import build, synthetic
from lakehouse.samples import make_jpeg


@pytest.fixture(scope="module")
def sig() -> dict:
    images = {im.name: im for im in build()}
    return lambda name: signature(reduced_gray(images[name].data))


def test_reduced_gray_has_the_longer_side_at_side() -> None:
    assert reduced_gray(make_jpeg(1, (640, 480))).shape == (SIDE * 3 // 4, SIDE)
    assert reduced_gray(make_jpeg(1, (480, 640))).shape == (SIDE, SIDE * 3 // 4)
    assert reduced_gray(make_jpeg(1, (160, 120))).shape == (120, 160)  # never upscaled
    png = cv2.imencode(".png", synthetic(1))[1].tobytes()
    assert reduced_gray(png).shape == (SIDE * 3 // 4, SIDE)
    with pytest.raises(ValueError):
        reduced_gray(b"not an image")


@pytest.mark.parametrize("variant", ["crop_5_corner", "rotate_3", "resize_0.5", "png", "darker"])
def test_small_geometric_and_photometric_changes_are_confirmed(sig, variant: str) -> None:
    original, changed = sig("rocket/tr/original"), sig(f"rocket/tr/{variant}")
    assert min(len(original.descriptors), len(changed.descriptors)) >= MIN_KEYPOINTS
    assert confirm(original, changed, 12, 0.95)[0] == ORB


def test_another_crop_of_the_same_photo_matches_keypoints_but_not_geometry(sig) -> None:
    """Overlapping windows share many keypoints, but far from the same place: refused."""
    assert inliers(sig("china/tl/original"), sig("china/centre/original")) == 0
    assert confirm(sig("china/tl/original"), sig("china/centre/original"), 12, 0.95) is None


def test_different_photos_are_refused(sig) -> None:
    assert confirm(sig("flower/full/original"), sig("coffee/full/original"), 12, 0.95) is None


def test_smooth_images_fall_back_to_thumbnails(sig) -> None:
    smooth, variant = sig("retina/centre/original"), sig("retina/centre/jpeg_q70")
    assert len(smooth.descriptors) < MIN_KEYPOINTS
    assert confirm(smooth, variant, 12, 0.95)[0] == THUMBNAIL


def test_thumbnail_similarity_is_symmetric_bounded_and_handles_flat_images() -> None:
    a = signature(reduced_gray(make_jpeg(1))).thumb
    b = signature(reduced_gray(make_jpeg(2))).thumb
    assert similarity(a, b) == similarity(b, a)
    assert -1.0 <= similarity(a, b) <= 1.0
    assert similarity(a, a) > 0.999
    flat = np.full((THUMB, THUMB), 7.0, np.float32)
    assert similarity(flat, flat + 100) == 1.0
    assert similarity(flat, a) == 0.0
