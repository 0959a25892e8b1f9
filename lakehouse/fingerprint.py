"""Version fingerprints: an order-independent, incremental digest of a set of asset ids.

A fingerprint must say "equal training data" (same asset ids, later same annotations) and be
cheap to keep up to date: recomputing a digest over millions of sorted ids on every publish
would make commit cost grow with table size. We use LtHash16 (Bellare-Micciancio's additive
lattice hash as deployed by Facebook, "Securing Update Propagation with Homomorphic
Hashing", 2019): each element expands by SHAKE-256 to 1024 16-bit lanes, a set is the lane-wise
sum mod 2^16, so adding or removing elements is an addition or subtraction and the result does
not depend on order. The printed fingerprint is the sha256 of that 2 KiB state.
`lakehouse verify` recomputes it from every stored id.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

import numpy as np

_LANES = 1024
_ELEMENT_BYTES = _LANES * 2


def _expand(elements: list[str]) -> np.ndarray:
    if not elements:
        return np.zeros(_LANES, dtype=np.uint64)
    raw = b"".join(hashlib.shake_256(e.encode()).digest(_ELEMENT_BYTES) for e in elements)
    lanes = np.frombuffer(raw, dtype="<u2").reshape(len(elements), _LANES)
    return lanes.sum(axis=0, dtype=np.uint64)


class SetHash:
    """A multiset digest supporting add and remove in O(elements changed)."""

    def __init__(self, state: np.ndarray | None = None, count: int = 0) -> None:
        self._state = np.zeros(_LANES, dtype=np.uint16) if state is None else state
        self.count = count

    def add(self, elements: Iterable[str], *, chunk: int = 4096) -> SetHash:
        return self._fold(elements, chunk, sign=1)

    def remove(self, elements: Iterable[str], *, chunk: int = 4096) -> SetHash:
        return self._fold(elements, chunk, sign=-1)

    def _fold(self, elements: Iterable[str], chunk: int, sign: int) -> SetHash:
        state = self._state.astype(np.int64)
        count = self.count
        batch: list[str] = []
        for element in elements:
            batch.append(element)
            if len(batch) == chunk:
                state += sign * _expand(batch).astype(np.int64)
                count += sign * len(batch)
                batch = []
        state += sign * _expand(batch).astype(np.int64)
        count += sign * len(batch)
        return SetHash(np.mod(state, 1 << 16).astype(np.uint16), count)

    def digest(self) -> str:
        return hashlib.sha256(self._state.astype("<u2").tobytes()).hexdigest()

    def encode(self) -> str:
        return base64.b64encode(self._state.astype("<u2").tobytes()).decode()

    @classmethod
    def decode(cls, text: str, count: int) -> SetHash:
        state = np.frombuffer(base64.b64decode(text), dtype="<u2").astype(np.uint16)
        if state.size != _LANES:
            raise ValueError("not a lakehouse fingerprint state")
        return cls(state.copy(), count)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SetHash) and bool(np.array_equal(self._state, other._state))

    def __hash__(self) -> int:
        return hash(self.digest())


def asset_element(asset_id: str) -> str:
    return f"asset:{asset_id}"


def annotation_element(annotation_id: str, content_sha256: str) -> str:
    """An annotation counts by id and content: a label edit changes the fingerprint."""
    return f"annotation:{annotation_id}:{content_sha256}"


ANNOTATION_COLUMNS = ["annotation_id", "content_sha256"]
