"""Compact membership over sha256 ids already stored in a table.

Ids are kept as 16-byte digest prefixes in one sorted numpy array (16 bytes per asset instead
of ~100 for a Python str), so a dataset of 10^7 assets costs 160 MB to check against. A 128-bit
prefix collision among N ids has probability about N^2 / 2^129: negligible at any real size.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

_PREFIX = 16


class DigestSet:
    def __init__(self, batches: Iterable[pa.Array]) -> None:
        parts = [_prefixes(batch) for batch in batches if len(batch)]
        merged = np.concatenate(parts) if parts else np.empty(0, dtype=f"S{_PREFIX}")
        self._sorted = np.unique(merged)

    def __len__(self) -> int:
        return len(self._sorted)

    def __contains__(self, hex_id: object) -> bool:
        if not isinstance(hex_id, str) or not self._sorted.size:
            return False
        # numpy's fixed-width bytes drop trailing NULs: compare keys the way it stores them
        key = np.bytes_(bytes.fromhex(hex_id[: 2 * _PREFIX]).rstrip(b"\0"))
        position = int(self._sorted.searchsorted(key))
        return position < self._sorted.size and self._sorted[position] == key


def _prefixes(hex_ids: pa.Array) -> np.ndarray:
    joined = "".join(s[: 2 * _PREFIX] for s in hex_ids.to_pylist() if s)
    return np.frombuffer(bytes.fromhex(joined), dtype=f"S{_PREFIX}")
