"""The second signal: near-identity geometry for textured images, thumbnails for smooth ones."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from lakehouse.dedup.confirm import (
    MIN_KEYPOINTS,
    ORB,
    SIDE,
    THUMB,
    THUMBNAIL,
    Signature,
    confirm,
    inliers,
    reduced_gray,
    signature,
    similarity,
)
from lakehouse.dedup.evalset import build, synthetic
from lakehouse.samples import make_jpeg


@pytest.fixture(scope="module")
def sig() -> Callable[[str], Signature]:
    images = {im.name: im for im in build()}
    return lambda name: signature(reduced_gray(images[name].data))


def method(a: Signature, b: Signature) -> str | None:
    found = confirm(a, b, 12, 0.95)
    return None if found is None else found[0]


def test_reduced_gray_has_the_longer_side_at_side() -> None:
    assert reduced_gray(make_jpeg(1, (640, 480))).shape == (SIDE * 3 // 4, SIDE)
    assert reduced_gray(make_jpeg(1, (480, 640))).shape == (SIDE, SIDE * 3 // 4)
    assert reduced_gray(make_jpeg(1, (160, 120))).shape == (120, 160)  # never upscaled
    png = cv2.imencode(".png", synthetic(1))[1].tobytes()
    assert reduced_gray(png).shape == (SIDE * 3 // 4, SIDE)
    with pytest.raises(ValueError):
        reduced_gray(b"not an image")


@pytest.mark.parametrize("variant", ["crop_5_corner", "rotate_3", "resize_0.5", "png", "darker"])
def test_small_geometric_and_photometric_changes_are_confirmed(
    sig: Callable[[str], Signature], variant: str
) -> None:
    original, changed = sig("rocket/tr/original"), sig(f"rocket/tr/{variant}")
    assert min(len(original.descriptors), len(changed.descriptors)) >= MIN_KEYPOINTS
    assert method(original, changed) == ORB


def test_another_crop_of_the_same_photo_matches_keypoints_but_not_geometry(
    sig: Callable[[str], Signature],
) -> None:
    """Overlapping windows share many keypoints, but far from the same place: refused."""
    assert inliers(sig("china/tl/original"), sig("china/centre/original")) == 0
    assert confirm(sig("china/tl/original"), sig("china/centre/original"), 12, 0.95) is None


def test_different_photos_are_refused(sig: Callable[[str], Signature]) -> None:
    assert confirm(sig("flower/full/original"), sig("coffee/full/original"), 12, 0.95) is None


def test_smooth_images_fall_back_to_thumbnails(sig: Callable[[str], Signature]) -> None:
    smooth, variant = sig("retina/centre/original"), sig("retina/centre/jpeg_q70")
    assert len(smooth.descriptors) < MIN_KEYPOINTS
    assert method(smooth, variant) == THUMBNAIL


def test_thumbnail_similarity_is_symmetric_bounded_and_handles_flat_images() -> None:
    a = signature(reduced_gray(make_jpeg(1))).thumb
    b = signature(reduced_gray(make_jpeg(2))).thumb
    assert similarity(a, b) == similarity(b, a)
    assert -1.0 <= similarity(a, b) <= 1.0
    assert similarity(a, a) > 0.999
    flat = np.full((THUMB, THUMB), 7.0, np.float32)
    assert similarity(flat, flat + 100) == 1.0
    assert similarity(flat, a) == 0.0


@pytest.mark.parametrize(("seed", "other"), [(1527, 90), (663, 637), (1647, 650)])
def test_blob_on_dark_background_is_not_a_cup(seed: int, other: int) -> None:
    """Benchmark images of different photos (a round flower, a round cup or retina) that
    pHash puts 12-14 bits apart and blurred thumbnails correlate at 0.89-0.93: refused."""
    a, b = (signature(reduced_gray(make_jpeg(s))) for s in (seed, other))
    assert confirm(a, b, 12, 0.95) is None
