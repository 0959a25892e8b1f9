"""Exact duplicates from the ledger, near duplicates from hashes, orientation and leakage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from lakehouse.dedup import (
    DedupParams,
    duplicate_rows,
    exact_duplicates,
    near_duplicates,
    run_dedup,
    signatures_from_content,
    split_leakage,
)
from lakehouse.dedup.confirm import Signature, reduced_gray, signature
from lakehouse.dedup.detect import PHASH, Match, candidate_pairs
from lakehouse.dedup.evalset import build
from lakehouse.dedup.hashing import phash_of
from lakehouse.schema import DUPLICATES_SCHEMA


def test_exact_duplicates_from_the_ledger() -> None:
    rows = [
        ("a", "drop/x.jpg"),
        ("b", "drop/y.jpg"),
        ("a", "backup/x.jpg"),  # a copy in the same drop: 'duplicate'
        (None, "drop/broken.jpg"),  # quarantined: no asset id
        ("a", "drop/x.jpg"),  # the same file seen again: one source
        ("c", "v1/z.jpg"),
        ("c", "v2/z_copy.jpg"),  # re-ingested in a later version: 'already_present'
    ]
    found = exact_duplicates(rows)
    assert [(e.asset_id, e.sources) for e in found] == [
        ("a", ("drop/x.jpg", "backup/x.jpg")),
        ("c", ("v1/z.jpg", "v2/z_copy.jpg")),
    ]


def bits(*positions: int) -> int:
    value = sum(1 << p for p in positions)
    return value - (1 << 64) if value >= 1 << 63 else value


def no_signatures(ids: Sequence[str]) -> dict[str, Signature]:
    raise AssertionError(f"signatures were asked for {list(ids)}")


def test_close_pairs_need_no_second_signal_and_point_to_the_earlier_asset() -> None:
    hashes = np.array([bits(1, 2, 3), bits(50), bits(1, 2), bits(50, 51, 52, 53, 54, 55)])
    params = DedupParams(phash_distance=2, max_distance=2)
    matches = near_duplicates(["first", "other", "later", "far"], hashes, params, no_signatures)
    assert matches == [Match("later", "first", 1, PHASH)]


def signatures_of(*names: str) -> dict[str, Signature]:
    images = {im.name: im for im in build()}
    return {name: signature(reduced_gray(images[name].data)) for name in names}


def test_farther_pairs_are_confirmed_with_signatures_of_only_their_assets() -> None:
    names = ["coffee/full/original", "coffee/full/crop_5_corner", "coffee/tl/original", "x"]
    loaded = signatures_of(*names[:3])
    asked: list[str] = []

    def signatures(ids: Sequence[str]) -> dict[str, Signature]:
        asked.extend(ids)
        return {i: loaded[i] for i in ids if i in loaded}

    hashes = np.array([0, bits(*range(6)), bits(*range(30, 36)), bits(*range(60, 64))])
    params = DedupParams(phash_distance=2, max_distance=6)
    matches = near_duplicates(names, hashes, params, signatures)
    assert [(m.asset_id, m.duplicate_of, m.distance, m.method) for m in matches] == [
        ("coffee/full/crop_5_corner", "coffee/full/original", 6, "phash+orb")
    ]
    assert matches[0].score is not None and matches[0].score >= params.min_inliers
    assert sorted(asked) == sorted(names)  # the other two are 6 and 4 bits from the first


def test_incremental_run_finds_exactly_the_pairs_with_new_assets() -> None:
    rng = np.random.default_rng(0)
    base = rng.integers(-(2**63), 2**63 - 1, 600, dtype=np.int64)
    hashes = np.concatenate([base, base[::3] ^ 0b1011])  # near copies, some new, some old
    hashes = rng.permutation(hashes)
    full = candidate_pairs(hashes, 6)
    incremental = candidate_pairs(hashes, 6, new_from=650)
    as_set = lambda p: set(zip(p.i.tolist(), p.j.tolist(), p.distance.tolist(), strict=True))  # noqa: E731
    assert as_set(incremental) == {(i, j, d) for i, j, d in as_set(full) if j >= 650}
    assert all(i < j for i, j, _ in as_set(incremental))


def test_split_leakage_reports_pairs_across_known_splits() -> None:
    matches = [Match("a", "b", 2, PHASH), Match("c", "d", 2, PHASH), Match("e", "f", 0, PHASH)]
    splits = {"a": "train", "b": "val", "c": "train", "d": "train", "e": "val"}
    assert split_leakage(matches, splits) == [matches[0]]


def test_run_dedup_rows_match_the_duplicates_schema() -> None:
    images = [im for im in build() if im.group == "coffee/full"][:4]  # original + 3 variants
    data = {im.name: im.data for im in images}
    ids = [im.name for im in images]
    hashes = np.array([phash_of(data[i]) for i in ids], np.int64)
    loader = signatures_from_content(lambda wanted: {i: data[i] for i in wanted} | {"x": b"junk"})
    result = run_dedup(
        ids,
        hashes,
        DedupParams(),
        loader,
        sources=[("s", "a.jpg"), ("s", "b.jpg")],
        splits={ids[0]: "train", ids[1]: "val"},
    )
    assert {(m.asset_id, m.duplicate_of) for m in result.matches} >= {(i, ids[0]) for i in ids[1:]}
    assert len(result.leakage) == 1
    rows = duplicate_rows(result, "run-1", datetime(2026, 1, 1, tzinfo=UTC))
    names = {f.name for f in DUPLICATES_SCHEMA.fields}
    assert all(set(row) == names for row in rows)
    assert rows[0] | {"found_at": None} == {
        "asset_id": "s",
        "duplicate_of": "s",
        "distance": 0,
        "method": "exact",
        "run_id": "run-1",
        "found_at": None,
    }
    summary = result.summary()
    assert summary["exact_duplicates"] == 1 and summary["split_leakage"] == 1
    assert sum(summary["near_duplicates"].values()) == len(result.matches)


def test_signature_loader_skips_undecodable_bytes() -> None:
    jpeg = build()[0].data
    load = signatures_from_content(lambda ids: {"good": jpeg, "text": b"hi", "empty": b""})
    assert list(load(["good", "text", "empty"])) == ["good"]


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="2 ids but 1 hashes"):
        near_duplicates(["a", "b"], np.array([0]), DedupParams(), no_signatures)
