"""pHash of encoded bytes exactly as ingest computes it, for assets and evaluation images."""

from __future__ import annotations

import numpy as np

from lakehouse.media import decode_verified, phash64, probe, sniff


def hash_gray(data: bytes) -> np.ndarray:
    """The grey image ingest hashes: a reduced-size (DCT-scaled) JPEG decode, other formats at
    full size. Raises CorruptMedia for damaged bytes, ValueError for bytes of no image format."""
    fmt = sniff(data[:64])
    if fmt is None:
        raise ValueError("not an image: no known signature")
    return decode_verified(data, probe(data, fmt), reduced=True)


def phash_of(data: bytes) -> int:
    """The signed 64-bit pHash ingest stores for these bytes."""
    return phash64(hash_gray(data))
