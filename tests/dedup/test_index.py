"""The multi-index hash index is exact: it returns what brute force returns, nothing more."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse.dedup import index as index_module
from lakehouse.dedup.index import HashIndex, Pairs, choose_tables, layout, pairs_between, radii


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, n, dtype=np.int64)


def plant(rng: np.random.Generator, hashes: np.ndarray, k: int, count: int) -> np.ndarray:
    """Copies of `count` random hashes, each with 0..k random bits flipped."""
    sources = hashes[rng.choice(len(hashes), count, replace=False)].view(np.uint64)
    flips = np.zeros(count, np.uint64)
    for row in range(count):
        for bit in rng.choice(64, int(rng.integers(0, k + 1)), replace=False):
            flips[row] |= np.uint64(1) << np.uint64(bit)
    return (sources ^ flips).view(np.int64)


def with_near_duplicates(seed: int, n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = random_hashes(rng, n)
    return rng.permutation(np.concatenate([base, plant(rng, base, k, n // 5)]))


def brute_pairs(a: np.ndarray, b: np.ndarray, k: int, upper: bool) -> set[tuple[int, int, int]]:
    distance = np.bitwise_count(a.view(np.uint64)[:, None] ^ b.view(np.uint64)[None, :])
    hit = distance <= k
    if upper:
        hit = np.triu(hit, 1)
    i, j = np.nonzero(hit)
    return set(zip(i.tolist(), j.tolist(), distance[i, j].tolist(), strict=True))


def as_set(pairs: Pairs) -> set[tuple[int, int, int]]:
    found = list(zip(pairs.i.tolist(), pairs.j.tolist(), pairs.distance.tolist(), strict=True))
    assert len(found) == len(set(found)), "a pair was reported twice"
    return set(found)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5, 8, 10, 12, 16])
def test_self_pairs_equal_brute_force(k: int) -> None:
    hashes = with_near_duplicates(k, 1500, k)
    found = as_set(HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(k))
    expected = brute_pairs(hashes, hashes, k, upper=True)
    assert found == expected
    assert len(expected) >= 250  # the planted pairs are there to be found


@pytest.mark.parametrize("k", [0, 4, 9, 14])
def test_query_equals_brute_force(k: int) -> None:
    rng = np.random.default_rng(100 + k)
    stored = random_hashes(rng, 2000)
    queries = np.concatenate([plant(rng, stored, k, 300), random_hashes(rng, 300)])
    found = as_set(HashIndex().build(np.arange(len(stored)), stored).query(queries, k))
    assert found == brute_pairs(queries, stored, k, upper=False)


@pytest.mark.parametrize("m", range(3, 11))
def test_every_table_layout_is_exact(m: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Force each substring count the cost model may pick, not only the one it picks here."""
    hashes = with_near_duplicates(7, 800, 9)
    monkeypatch.setattr(index_module, "choose_tables", lambda n_query, n_index, k: m)
    found = as_set(HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(9))
    assert found == brute_pairs(hashes, hashes, 9, upper=True)


def test_small_chunks_give_the_same_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = with_near_duplicates(3, 1200, 8)
    expected = as_set(HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(8))
    monkeypatch.setattr(index_module, "_PROBE_CHUNK", 97)
    monkeypatch.setattr(index_module, "_CANDIDATE_CHUNK", 13)
    assert as_set(HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(8)) == expected


def test_pairs_between_is_the_new_vs_old_part_of_the_full_search() -> None:
    hashes = with_near_duplicates(11, 2000, 10)
    old, new = hashes[:1700], hashes[1700:]
    full = as_set(HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(10))
    across = {(i, j + 1700, d) for j, i, d in as_set(pairs_between(new, old, 10))}
    assert across == {(i, j, d) for i, j, d in full if i < 1700 <= j}


def test_unsigned_and_signed_hashes_agree() -> None:
    hashes = with_near_duplicates(5, 500, 6)
    signed = as_set(HashIndex().build(np.arange(500 + 100), hashes).self_pairs(6))
    unsigned = HashIndex().build(np.arange(600), hashes.view(np.uint64)).self_pairs(6)
    assert signed == as_set(unsigned)


def test_empty_inputs_and_bad_radius() -> None:
    index = HashIndex().build(np.arange(3), np.array([1, 2, 3], np.int64))
    assert len(index.query(np.zeros(0, np.int64), 4)) == 0
    assert len(HashIndex().build(np.zeros(0), np.zeros(0, np.int64)).self_pairs(4)) == 0
    with pytest.raises(ValueError, match="radius"):
        index.self_pairs(65)
    with pytest.raises(TypeError):
        HashIndex().build(np.arange(2), np.array([1.0, 2.0]))


@pytest.mark.parametrize("k", range(0, 25))
def test_layout_and_radii_satisfy_the_pigeonhole(k: int) -> None:
    for m in range(3, max(3, k + 1) + 1):
        widths = [bits for _, bits in layout(m)]
        assert sum(widths) == 64
        assert sum(r + 1 for r in radii(m, k)) >= k + 1
    assert 3 <= choose_tables(10**6, 10**6, k) <= max(3, k + 1)


def test_substrings_track_log_n() -> None:
    """The cost model keeps substrings near log2(n) bits, so buckets stay small as n grows."""
    assert choose_tables(10**6, 10**6, 8) <= choose_tables(10**4, 10**4, 8)
