"""The second near-duplicate signal: local features with a geometric check, or thumbnails.

pHash squeezes the whole frame to 32x32, so a 5% crop or a 3 degree rotation moves its bits as
much as some unrelated pictures do. A candidate pair that pHash alone cannot settle is
confirmed on a reduced decode (longer side SIDE px) of both images:

- ORB keypoints are matched and a similarity transform is fitted with RANSAC. A near
  duplicate maps one frame onto the other almost unchanged: enough inliers, scale within
  MAX_SCALE_CHANGE, rotation within MAX_ROTATION degrees, the centre moved at most MAX_SHIFT of
  the longer side. Different crops of one photo match too, but far off-centre: refused. Different
  photos with similar colours share no geometry: refused.
- Images with too few keypoints for that (smooth skies, dark frames) fall back to the aligned
  correlation of blurred 32x32 thumbnails: the centre of one is slid over the other (shifts up
  to 5% absorbed) and the best normalised cross-correlation either way is the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

SIDE = 320  # longer side of the frame features are taken from, px
MIN_KEYPOINTS = 40  # fewer in either image: compare thumbnails instead
MAX_SCALE_CHANGE = 0.15
MAX_ROTATION = 6.0  # degrees
MAX_SHIFT = 0.1  # of the longer side, for the image centre
_RANSAC_PX = 3.0
THUMB = 32  # thumbnails are THUMB x THUMB whatever the aspect, as pHash's 32x32
_BLUR_SIGMA = 1.5  # px, at THUMB size: tolerance of small rotations and rescaling
_CENTRE = 0.9  # the slid centre: shifts up to (1 - _CENTRE) / 2 of a side are absorbed
_FLAT = 1e-3  # a thumbnail whose grey levels vary less than this has no structure
_ORB = cv2.ORB.create(nfeatures=200)  # 500 separate no better and match 5x slower
_MATCHER = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)

ORB, THUMBNAIL = "orb", "thumb"


@dataclass(frozen=True)
class Signature:
    """What the confirmation needs of one image: its frame size, ORB keypoint positions and
    descriptors (may be empty), and its blurred grey thumbnail."""

    width: int
    height: int
    points: np.ndarray
    descriptors: np.ndarray
    thumb: np.ndarray


def reduced_gray(data: bytes) -> np.ndarray:
    """Grey image with longer side SIDE (never upscaled); JPEGs are DCT-scaled while decoding.
    Raises ValueError when the bytes do not decode."""
    gray = _jpeg_gray(data) if data[:3] == b"\xff\xd8\xff" else None
    if gray is None:
        try:
            gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
        except cv2.error:
            gray = None
    if gray is None:
        raise ValueError("cannot decode the image")
    h, w = gray.shape
    scale = SIDE / max(h, w)
    if scale >= 1:
        return gray
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _jpeg_gray(data: bytes) -> np.ndarray | None:
    """libjpeg-turbo's smallest DCT scaling that keeps the longer side >= SIDE; None when
    libjpeg-turbo refuses the file (OpenCV gets its turn)."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        wide = width >= height
        gray = simplejpeg.decode_jpeg(
            data,
            colorspace="GRAY",
            min_width=SIDE if wide else 1,
            min_height=1 if wide else SIDE,
        )
    except ValueError:
        return None
    return gray[:, :, 0]


def signature(gray: np.ndarray) -> Signature:
    """The Signature of a grey image from `reduced_gray`."""
    keypoints, descriptors = _ORB.detectAndCompute(gray, None)
    points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    if descriptors is None:
        descriptors = np.zeros((0, 32), np.uint8)
    small = cv2.resize(gray, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb = cv2.GaussianBlur(small, (0, 0), _BLUR_SIGMA)
    return Signature(gray.shape[1], gray.shape[0], points, descriptors, thumb)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best normalised cross-correlation of either thumbnail's centre slid over the other, in
    [-1, 1]; 1.0 for two structureless (flat) thumbnails, 0.0 for one flat and one not."""
    flat_a, flat_b = float(a.std()) < _FLAT, float(b.std()) < _FLAT
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b else 0.0
    side = round(THUMB * _CENTRE)
    at = (THUMB - side) // 2
    best = -1.0
    for image, other in ((a, b), (b, a)):
        centre = image[at : at + side, at : at + side]
        scores = cv2.matchTemplate(other, centre, cv2.TM_CCOEFF_NORMED)
        best = max(best, float(np.nan_to_num(scores, nan=-1.0).max()))
    return best


def inliers(a: Signature, b: Signature) -> int:
    """Keypoint matches consistent with one near-identity similarity transform from a's frame
    to b's (0 when no such transform exists); frames are compared at equal longer sides."""
    if len(a.descriptors) < 2 or len(b.descriptors) < 2:
        return 0
    matches = _MATCHER.match(a.descriptors, b.descriptors)
    if len(matches) < 3:
        return 0
    unit_a, unit_b = max(a.width, a.height), max(b.width, b.height)
    src = a.points[[m.queryIdx for m in matches]] / unit_a
    dst = b.points[[m.trainIdx for m in matches]] / unit_b
    fitted, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX / SIDE
    )
    if fitted is None:
        return 0
    scale = float(np.hypot(fitted[0, 0], fitted[1, 0]))
    rotation = float(np.degrees(np.arctan2(fitted[1, 0], fitted[0, 0])))
    centre_a = np.array([a.width, a.height]) / 2 / unit_a
    centre_b = np.array([b.width, b.height]) / 2 / unit_b
    shift = float(np.hypot(*(fitted[:, :2] @ centre_a + fitted[:, 2] - centre_b)))
    near_identity = (
        abs(scale - 1) <= MAX_SCALE_CHANGE and abs(rotation) <= MAX_ROTATION and shift <= MAX_SHIFT
    )
    return int(mask.sum()) if near_identity else 0


def confirm(
    a: Signature, b: Signature, min_inliers: int, min_similarity: float
) -> tuple[str, float] | None:
    """(ORB, inliers) or (THUMBNAIL, correlation) when the pair is a near duplicate by the
    signal that applies to it, else None."""
    if min(len(a.descriptors), len(b.descriptors)) >= MIN_KEYPOINTS:
        count = inliers(a, b)
        return (ORB, float(count)) if count >= min_inliers else None
    score = similarity(a.thumb, b.thumb)
    return (THUMBNAIL, round(score, 4)) if score >= min_similarity else None
