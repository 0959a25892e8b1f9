"""64-bit perceptual hash (DCT pHash) and Hamming distance.

Same construction as `imagehash.phash`: resize to 32x32 (area averaging), 2-D DCT-II, keep
the top-left 8x8 low-frequency block, set a bit where a coefficient exceeds the median of those
64. `cv2.dct` is orthonormal, so row 0 and column 0 are rescaled by sqrt(2) to restore the
plain DCT-II proportions imagehash's median sees. Bits are packed row-major, MSB first, and
returned as a signed int64 so the value fits an Iceberg `long` column.
"""

from __future__ import annotations

import cv2
import numpy as np

_SIZE = 32
_LOW = 8
_UNSCALE = np.ones((_LOW, _LOW), np.float32)
_UNSCALE[0, :] *= np.sqrt(2)
_UNSCALE[:, 0] *= np.sqrt(2)


def phash64(gray: np.ndarray) -> int:
    """The 64-bit DCT perceptual hash of a 2-D uint8 grayscale image, as a signed int64."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"phash64 needs a non-empty 2-D grayscale image, got shape {gray.shape}")
    small = cv2.resize(gray, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:_LOW, :_LOW] * _UNSCALE
    ranked = np.sort(low, axis=None)
    bits = low > (ranked[31] + ranked[32]) / 2  # the median, without np.median's overhead
    return int.from_bytes(np.packbits(bits).tobytes(), "big", signed=True)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & 0xFFFF_FFFF_FFFF_FFFF).bit_count()
