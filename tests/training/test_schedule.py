"""The pure scheduler: every row once, order from data and seed only, sizes from pixels."""

from __future__ import annotations

import numpy as np

from lakehouse.training.schedule import Rows, schedule, shuffle_keys

MB = 1024 * 1024


def _rows(groups: list[int], pixels: int, seed: int | None) -> Rows:
    """`groups[g]` rows in row group g, each `pixels` bytes of pixels, 1/10 of that served."""
    group = np.repeat(np.arange(len(groups), dtype=np.int32), groups)
    row = np.concatenate([np.arange(n, dtype=np.int32) for n in groups])
    ids = [f"asset-{g}-{r}" for g, r in zip(group, row, strict=True)]
    key = None if seed is None else shuffle_keys(ids, seed, len(ids))
    work = np.full(len(group), pixels, dtype=np.int64)
    return Rows(group, row, work, work // 10, key)


def test_every_row_is_served_once_in_tasks_and_blocks_of_the_asked_size() -> None:
    rows = _rows([500, 500, 37, 800], pixels=MB, seed=3)
    cuts = schedule(rows, task_bytes=256 * MB, block_bytes=16 * MB)
    served = np.concatenate([c.rows for c in cuts])
    assert sorted(served.tolist()) == list(range(len(rows.group)))
    assert all(sum(c.blocks) == len(c.rows) for c in cuts)
    assert max(len(c.rows) for c in cuts) <= 2 * 256
    assert max(b for c in cuts for b in c.blocks) <= 16 * MB // (MB // 10) + 1


def test_order_depends_on_the_seed_only() -> None:
    def order(seed: int | None, task_bytes: int) -> list[int]:
        cuts = schedule(_rows([300, 200, 300], MB, seed), task_bytes, 8 * MB)
        return np.concatenate([c.rows for c in cuts]).tolist()

    assert order(5, 256 * MB) == order(5, 256 * MB)
    assert order(5, 256 * MB) != order(6, 256 * MB)
    assert order(None, 256 * MB) == list(range(800))  # storage order without a seed
    assert order(None, 64 * MB) == list(range(800))


def test_a_big_row_group_is_split_and_small_ones_are_grouped() -> None:
    big = schedule(_rows([1000], MB, seed=1), task_bytes=250 * MB, block_bytes=64 * MB)
    assert len(big) == 4
    small = schedule(_rows([10] * 30, MB, seed=1), task_bytes=100 * MB, block_bytes=64 * MB)
    assert len(small) == 3 and all(len(np.unique(c.rows // 10)) == 10 for c in small)


def test_shuffle_keys_are_sha256_of_seed_and_asset_id() -> None:
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"7:abc").digest()[:8], "big")
    assert shuffle_keys(["abc"], 7, 1).tolist() == [expected]
    assert schedule(Rows(*(np.zeros(0, np.int64),) * 4, None), 1, 1) == []
