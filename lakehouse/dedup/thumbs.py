"""The second near-duplicate signal: aligned correlation of small grey thumbnails.

pHash squeezes the whole frame to 32x32, so a 5% crop or a 3 degree rotation moves its bits as
much as some unrelated pictures do. For candidate pairs that pHash alone cannot settle, the
thumbnails are compared after alignment: the centre of one (CENTRE of each side) is slid over
the other, so shifts up to (1 - CENTRE) / 2 of a side are absorbed, and the best normalised
cross-correlation in either direction is the similarity. Different crops of one photo are
offset by more than that and do not align; different photos with similar colours have
unrelated structure. A blur makes the score tolerant of small rotations and rescaling.

Thumbnails come from the same reduced-size decode ingest uses for pHash, so a JPEG is never
decoded at full size here.
"""

from __future__ import annotations

import cv2
import numpy as np

from lakehouse.media import decode_verified, probe, sniff

SIDE = 32  # thumbnails are SIDE x SIDE whatever the aspect, as pHash's 32x32
BLUR_SIGMA = 1.5  # px
CENTRE = 0.9  # shifts up to 5% of a side are absorbed
_FLAT = 1e-3  # a thumbnail whose grey levels vary less than this has no structure to align


def hash_gray(data: bytes) -> np.ndarray:
    """The grey image ingest hashes: a reduced-size JPEG decode, other formats at full size.

    Raises CorruptMedia for damaged bytes and ValueError for bytes that are not an image.
    """
    fmt = sniff(data[:64])
    if fmt is None:
        raise ValueError("not an image: no known signature")
    return decode_verified(data, probe(data, fmt), reduced=True)


def thumbnail(gray: np.ndarray) -> np.ndarray:
    """A SIDE x SIDE blurred float32 thumbnail of a 2-D uint8 grey image."""
    small = cv2.resize(gray, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(small, (0, 0), BLUR_SIGMA)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best normalised cross-correlation of either thumbnail's centre slid over the other,
    in [-1, 1]; 1.0 for two structureless (flat) thumbnails, 0.0 for one flat and one not."""
    flat_a, flat_b = float(a.std()) < _FLAT, float(b.std()) < _FLAT
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b else 0.0
    side = round(SIDE * CENTRE)
    at = (SIDE - side) // 2
    best = -1.0
    for image, other in ((a, b), (b, a)):
        centre = image[at : at + side, at : at + side]
        scores = cv2.matchTemplate(other, centre, cv2.TM_CCOEFF_NORMED)
        best = max(best, float(np.nan_to_num(scores, nan=-1.0).max()))
    return best
