"""Order planned rows and cut them into read tasks and blocks: deterministic, pure numpy.

Without a seed rows keep storage order (data file path, row group, row). With a seed the order
has two levels, because rows can only be read a row group at a time: row groups are ordered by
a seeded key (the smallest key of their rows), consecutive row groups form windows of about
`task_bytes` of pixels, and a window's rows are ordered by their own key,
sha256(f"{seed}:{asset_id}"). A window is then cut into tasks of about `task_bytes` each (a row
group larger than that is read once by each of its tasks), and a task into blocks of about
`block_bytes` of output. Only the rows, their sizes and the seed decide all this: never the
cluster size, the requested parallelism or the number of workers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rows:
    """The rows to serve, sorted by (group, row); `group` numbers row groups in storage order."""

    group: np.ndarray  # int32
    row: np.ndarray  # int32, row number inside the row group
    work: np.ndarray  # int64, bytes of pixels to decode (or bytes to read when not decoding)
    out: np.ndarray  # int64, bytes of output
    key: np.ndarray | None  # uint64 shuffle keys; None keeps storage order


@dataclass(frozen=True)
class Cut:
    """One read task: indices into Rows in output order, and rows per output block."""

    rows: np.ndarray
    blocks: tuple[int, ...]


def shuffle_keys(asset_ids: Iterable[str], seed: int, count: int) -> np.ndarray:
    """The first 8 bytes of sha256(f"{seed}:{asset_id}") of each asset, as uint64."""
    base = hashlib.sha256(f"{seed}:".encode())

    def key(asset_id: str) -> int:
        digest = base.copy()
        digest.update(asset_id.encode())
        return int.from_bytes(digest.digest()[:8], "big")

    return np.fromiter((key(a) for a in asset_ids), dtype=np.uint64, count=count)


def schedule(rows: Rows, task_bytes: int, block_bytes: int) -> list[Cut]:
    """Read tasks covering every row exactly once, in serving order."""
    if len(rows.group) == 0:
        return []
    groups, starts = np.unique(rows.group, return_index=True)
    ends = np.append(starts[1:], len(rows.group))
    group_work = np.add.reduceat(rows.work, starts)
    if rows.key is None:
        group_order = np.arange(len(groups))
    else:
        group_order = np.lexsort((groups, np.minimum.reduceat(rows.key, starts)))
    cuts = []
    for window in _windows(group_order, group_work, task_bytes):
        index = np.concatenate([np.arange(starts[g], ends[g]) for g in window])
        if rows.key is not None:
            index = index[np.argsort(rows.key[index], kind="stable")]
        work = rows.work[index]
        parts = max(1, round(int(work.sum()) / task_bytes))
        for part in _split(index, work, parts):
            cuts.append(Cut(part, _blocks(rows.out[part], block_bytes)))
    return cuts


def _windows(order: np.ndarray, work: np.ndarray, task_bytes: int) -> list[list[int]]:
    """Consecutive row groups (in `order`) holding at least `task_bytes` of work each."""
    windows: list[list[int]] = [[]]
    total = 0
    for group in order.tolist():
        if total >= task_bytes:
            windows.append([])
            total = 0
        windows[-1].append(group)
        total += int(work[group])
    return windows


def _split(index: np.ndarray, work: np.ndarray, parts: int) -> list[np.ndarray]:
    """`index` cut into `parts` consecutive pieces of about equal work (none empty)."""
    before = np.cumsum(work) - work
    piece = np.minimum(before * parts // max(int(work.sum()), 1), parts - 1)
    bounds = np.searchsorted(piece, np.arange(1, parts))
    return [p for p in np.split(index, bounds) if len(p)]


def _blocks(out: np.ndarray, block_bytes: int) -> tuple[int, ...]:
    """Rows per block: a block starts every `block_bytes` of output (at least one row each)."""
    starts = (np.cumsum(out) - out) // block_bytes
    counts = np.bincount(starts)
    return tuple(int(c) for c in counts if c)
