"""A labelled near-duplicate evaluation set built from the bundled photographs, deterministic.

Bases are 640x480 JPEGs (q90) cut from the bundled photos: per photo, the full 4:3 frame and
five 60% windows (four corners and the centre). Two windows of one photo are offset by at least
a third of a window: different crops, so hard negatives. Every base gets the near-duplicate
transforms of `TRANSFORMS` (positives: the same picture). Synthetic images (smooth random
fields with shapes) add distinct negatives unrelated to any photo.

Ground truth: two images are duplicates exactly when they share a `group` (one base and its
transforms). Every other pair is a negative, labelled by `negative_kind`: 'crop_offset' (two
windows of one photo), 'similar_colour' (different photos among the most similar colour
histograms, see `similar_colour_groups`) or 'distinct'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np
import simplejpeg

from lakehouse.samples import photos

SIZE = (640, 480)  # width, height of every base
_WINDOW = 0.6  # side of a crop window, as a fraction of the photo's largest 4:3 window
_WINDOWS = {  # name -> (x, y) of the window's top-left corner, as a fraction of the free room
    "tl": (0.0, 0.0),
    "tr": (1.0, 0.0),
    "bl": (0.0, 1.0),
    "br": (1.0, 1.0),
    "centre": (0.5, 0.5),
}
N_SYNTHETIC = 48
SIMILAR_COLOUR_PAIRS = 40  # cross-photo base pairs with the closest colour histograms


@dataclass(frozen=True)
class EvalImage:
    """One encoded image of the set; `group` names its base, `transform` what was done to it."""

    name: str
    group: str
    photo: str
    transform: str
    data: bytes


def _jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(rgb), quality=quality, colorsubsampling="420"
    )


def _png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", rgb[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()


def _clip(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _resize(rgb: np.ndarray, factor: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)


def _crop(rgb: np.ndarray, left: float, top: float, right: float, bottom: float) -> np.ndarray:
    """Cut the given fractions of the width/height off each side."""
    h, w = rgb.shape[:2]
    return rgb[round(h * top) : h - round(h * bottom), round(w * left) : w - round(w * right)]


def _rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre, same size, borders reflected (no black wedges)."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def _shift(rgb: np.ndarray, gain: float, offset: float) -> np.ndarray:
    """Contrast `gain` about the mean grey level, then brightness `offset`."""
    mean = np.float32(rgb.mean())
    return _clip((rgb.astype(np.float32) - mean) * np.float32(gain) + mean + np.float32(offset))


def _noise(rgb: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(sigma)
    return _clip(rgb + noise)


# name -> function(decoded base RGB, rotation sign, rng) -> encoded bytes of a near-duplicate
Transform = Callable[[np.ndarray, int, np.random.Generator], bytes]
TRANSFORMS: dict[str, Transform] = {
    "jpeg_q95": lambda rgb, sign, rng: _jpeg(rgb, 95),
    "jpeg_q70": lambda rgb, sign, rng: _jpeg(rgb, 70),
    "resize_0.5": lambda rgb, sign, rng: _jpeg(_resize(rgb, 0.5)),
    "resize_0.75": lambda rgb, sign, rng: _jpeg(_resize(rgb, 0.75)),
    "crop_5_centre": lambda rgb, sign, rng: _jpeg(_crop(rgb, 0.025, 0.025, 0.025, 0.025)),
    "crop_5_corner": lambda rgb, sign, rng: _jpeg(_crop(rgb, 0.05, 0.05, 0.0, 0.0)),
    "rotate_1": lambda rgb, sign, rng: _jpeg(_rotate(rgb, 1.0 * sign)),
    "rotate_2": lambda rgb, sign, rng: _jpeg(_rotate(rgb, 2.0 * sign)),
    "rotate_3": lambda rgb, sign, rng: _jpeg(_rotate(rgb, 3.0 * sign)),
    "brighter": lambda rgb, sign, rng: _jpeg(_shift(rgb, 1.0, 25.0)),
    "darker": lambda rgb, sign, rng: _jpeg(_shift(rgb, 1.0, -25.0)),
    "contrast_up": lambda rgb, sign, rng: _jpeg(_shift(rgb, 1.25, 0.0)),
    "contrast_down": lambda rgb, sign, rng: _jpeg(_shift(rgb, 0.75, 0.0)),
    "noise_5": lambda rgb, sign, rng: _jpeg(_noise(rgb, 5.0, rng)),
    "noise_10": lambda rgb, sign, rng: _jpeg(_noise(rgb, 10.0, rng)),
    "png": lambda rgb, sign, rng: _png(rgb),
}


def _windows(photo: np.ndarray) -> dict[str, np.ndarray]:
    """The full 4:3 frame and the five 60% windows of `photo`, each resized to SIZE."""
    ph, pw = photo.shape[:2]
    full_w = min(pw, ph * 4 / 3)
    full_h = full_w * 3 / 4
    x0, y0 = (pw - full_w) / 2, (ph - full_h) / 2
    boxes = {"full": (x0, y0, full_w, full_h)}
    win_w, win_h = full_w * _WINDOW, full_h * _WINDOW
    for name, (fx, fy) in _WINDOWS.items():
        boxes[name] = (x0 + fx * (full_w - win_w), y0 + fy * (full_h - win_h), win_w, win_h)
    out = {}
    for name, (x, y, w, h) in boxes.items():
        crop = photo[round(y) : round(y + h), round(x) : round(x + w)]
        shrink = crop.shape[1] > SIZE[0]
        out[name] = cv2.resize(
            crop, SIZE, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        )
    return out


def synthetic(seed: int) -> np.ndarray:
    """A distinct non-photographic RGB image: a smooth random colour field with random shapes."""
    rng = np.random.default_rng(10_000 + seed)
    w, h = SIZE
    cells = rng.integers(2, 9)
    field = rng.uniform(0, 255, (cells, cells, 3)).astype(np.float32)
    image = cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(20, 200))
        if rng.random() < 0.5:
            cv2.circle(image, (x, y), size, colour, -1)
        else:
            cv2.rectangle(image, (x, y), (x + size, y + size // 2), colour, -1)
    return _clip(image + rng.standard_normal(image.shape, dtype=np.float32) * np.float32(2.0))


@cache
def build() -> tuple[EvalImage, ...]:
    """Every image of the set: bases, their transforms, then the synthetic distinct images."""
    images: list[EvalImage] = []
    rng = np.random.default_rng(2024)
    for photo_name, photo in photos():
        for window, rgb in _windows(photo).items():
            group = f"{photo_name}/{window}"
            base = _jpeg(rgb)
            decoded = simplejpeg.decode_jpeg(base, colorspace="RGB")
            sign = 1 if len(images) % 2 else -1  # rotate half the bases each way
            images.append(EvalImage(f"{group}/original", group, photo_name, "original", base))
            for transform, make in TRANSFORMS.items():
                data = make(decoded, sign, rng)
                images.append(EvalImage(f"{group}/{transform}", group, photo_name, transform, data))
    for i in range(N_SYNTHETIC):
        group = f"synthetic/{i}"
        data = _jpeg(synthetic(i))
        images.append(EvalImage(f"{group}/original", group, "synthetic", "original", data))
    return tuple(images)


def _colour_histogram(data: bytes) -> np.ndarray:
    """A normalised 8x8x8 RGB histogram of an image."""
    rgb = simplejpeg.decode_jpeg(data, colorspace="RGB")
    hist = cv2.calcHist([rgb], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256]).ravel()
    return hist / hist.sum()


@cache
def similar_colour_groups() -> frozenset[frozenset[str]]:
    """The SIMILAR_COLOUR_PAIRS base pairs of different photos whose colour histograms
    intersect most: different pictures a colour-based matcher would confuse."""
    bases = [im for im in build() if im.transform == "original" and im.photo != "synthetic"]
    hists = np.stack([_colour_histogram(im.data) for im in bases])
    overlap = np.minimum(hists[:, None, :], hists[None, :, :]).sum(axis=2)
    photo = np.array([im.photo for im in bases])
    i, j = np.triu_indices(len(bases), 1)
    cross = photo[i] != photo[j]
    i, j = i[cross], j[cross]
    best = np.argsort(-overlap[i, j], kind="stable")[:SIMILAR_COLOUR_PAIRS]
    return frozenset(frozenset((bases[i[b]].group, bases[j[b]].group)) for b in best)


def negative_kind(a: EvalImage, b: EvalImage) -> str | None:
    """None for a duplicate pair, else the kind of negative the pair is."""
    if a.group == b.group:
        return None
    if a.photo == b.photo and a.photo != "synthetic":
        return "crop_offset"
    if frozenset((a.group, b.group)) in similar_colour_groups():
        return "similar_colour"
    return "distinct"
