"""Exact and near duplicates as pure functions over asset ids, hashes and the sources ledger.

Near duplicates come in two steps. The exact `HashIndex` finds every candidate pair within
`max_distance` pHash bits, without comparing all pairs; a full run self-joins every asset,
an incremental run joins only the new assets with each other and with everything stored.
Then each candidate is settled: within `phash_distance` pHash decides alone ('phash'); above,
the pair must also pass the second signal of `confirm` ('phash+orb', or 'phash+thumb' for
images too smooth for keypoints), whose signatures are fetched through a callback only for
the assets of such pairs.

Orientation: ids come in precedence order (first ingested first), and every match points
from the later asset (`asset_id`) to the earlier one it duplicates (`duplicate_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lakehouse.dedup.confirm import Signature, confirm
from lakehouse.dedup.index import HashIndex, Pairs, as_unsigned, pairs_between
from lakehouse.dedup.params import DedupParams

EXACT, PHASH = "exact", "phash"

# asset ids -> their confirmation signatures; may leave out assets that cannot be decoded
SignatureLoader = Callable[[Sequence[str]], Mapping[str, Signature]]


@dataclass(frozen=True)
class Match:
    """`asset_id` duplicates the earlier `duplicate_of`: pHash `distance` bits apart, found by
    `method`; `score` is the second signal's (keypoint inliers or thumbnail correlation)."""

    asset_id: str
    duplicate_of: str
    distance: int
    method: str
    score: float | None = None


@dataclass(frozen=True)
class ExactDuplicate:
    """One asset whose identical bytes arrived from several source files (in ledger order)."""

    asset_id: str
    sources: tuple[str, ...]


def exact_duplicates(rows: Iterable[tuple[str | None, str]]) -> list[ExactDuplicate]:
    """Assets seen from more than one distinct source, from (asset_id, source_uri) ledger rows.

    Assets are unique within a dataset version, so byte-identical copies (same sha256) only
    show in the `sources` ledger: a copy in the same drop ('duplicate'), a later ingest of the
    same bytes ('already_present'), in any version. Rows without an asset id (quarantined,
    skipped) are ignored; a source seen twice counts once.
    """
    seen: dict[str, dict[str, None]] = defaultdict(dict)
    for asset_id, source in rows:
        if asset_id is not None:
            seen[asset_id][source] = None
    return [
        ExactDuplicate(asset_id, tuple(sources))
        for asset_id, sources in sorted(seen.items())
        if len(sources) > 1
    ]


def candidate_pairs(hashes: np.ndarray, k: int, new_from: int = 0) -> Pairs:
    """Pairs (i < j) of positions within k bits; with `new_from` > 0, only the pairs that
    involve a position >= new_from (the new assets), found without joining old with old."""
    hashes = as_unsigned(hashes)
    new = hashes[new_from:]
    among_new = HashIndex().build(np.arange(len(new)), new).self_pairs(k)
    if new_from == 0:
        return among_new
    with_old = pairs_between(new, hashes[:new_from], k)
    return Pairs(
        np.concatenate([among_new.i + new_from, with_old.j]),
        np.concatenate([among_new.j + new_from, with_old.i + new_from]),
        np.concatenate([among_new.distance, with_old.distance]),
    )


def settle(
    ids: Sequence[str], pairs: Pairs, params: DedupParams, signatures: SignatureLoader
) -> list[Match]:
    """Matches among candidate `pairs` (i < j, positions into `ids`) under `params`.

    Pairs above `phash_distance` whose signatures cannot be loaded are not matched.
    """
    order = np.lexsort((pairs.j, pairs.i))
    i, j, distance = pairs.i[order], pairs.j[order], pairs.distance[order]
    sure = distance <= params.phash_distance
    needed = np.unique(np.concatenate([i[~sure], j[~sure]]))
    loaded = signatures([ids[p] for p in needed]) if len(needed) else {}
    matches = []
    rows = zip(i.tolist(), j.tolist(), distance.tolist(), sure.tolist(), strict=True)
    for a, b, d, alone in rows:
        if alone:
            matches.append(Match(ids[b], ids[a], d, PHASH))
            continue
        sa, sb = loaded.get(ids[a]), loaded.get(ids[b])
        if sa is None or sb is None:
            continue
        found = confirm(sa, sb, params.min_inliers, params.min_similarity)
        if found is not None:
            matches.append(Match(ids[b], ids[a], d, f"{PHASH}+{found[0]}", found[1]))
    return matches


def near_duplicates(
    ids: Sequence[str],
    hashes: np.ndarray,
    params: DedupParams,
    signatures: SignatureLoader,
    new_from: int = 0,
) -> list[Match]:
    """Near-duplicate matches among assets `ids` (precedence order) with pHashes `hashes`;
    with `new_from` > 0 only those involving the assets at positions >= new_from."""
    if len(ids) != len(hashes):
        raise ValueError(f"{len(ids)} ids but {len(hashes)} hashes")
    pairs = candidate_pairs(hashes, params.max_distance, new_from)
    return settle(ids, pairs, params, signatures)


def split_leakage(matches: Iterable[Match], split_of: Mapping[str, str]) -> list[Match]:
    """The matches whose two assets sit in different known splits (e.g. train vs val)."""
    return [
        m
        for m in matches
        if (a := split_of.get(m.asset_id)) is not None
        and (b := split_of.get(m.duplicate_of)) is not None
        and a != b
    ]
