"""The dedup job's core, free of I/O: inputs in, `duplicates` rows and a summary out.

The caller (API/CLI/Ray entry point) reads `asset_id, phash` of every stored asset (all
versions) in precedence order, the `sources` ledger and the splits, supplies a reader of asset
bytes for the few assets whose signatures the second signal needs, and appends
`duplicate_rows(...)` to the `duplicates` table in one commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np

from lakehouse.dedup.confirm import Signature, reduced_gray, signature
from lakehouse.dedup.detect import (
    EXACT,
    ExactDuplicate,
    Match,
    SignatureLoader,
    exact_duplicates,
    near_duplicates,
    split_leakage,
)
from lakehouse.dedup.params import DedupParams

# asset ids -> their encoded bytes (only the ids asked for; missing ones are skipped)
ContentReader = Callable[[Sequence[str]], Mapping[str, bytes]]


@dataclass(frozen=True)
class DedupResult:
    """Everything one run found; `new_assets` is how many assets were compared as new."""

    matches: list[Match]
    exact: list[ExactDuplicate]
    leakage: list[Match]
    assets: int
    new_assets: int
    params: DedupParams

    def summary(self) -> dict[str, Any]:
        """Counts for the CLI and for lineage properties."""
        return {
            "assets": self.assets,
            "new_assets": self.new_assets,
            "exact_duplicates": len(self.exact),
            "near_duplicates": dict(sorted(Counter(m.method for m in self.matches).items())),
            "split_leakage": len(self.leakage),
            "params": asdict(self.params),
        }


def signatures_from_content(read: ContentReader) -> SignatureLoader:
    """A signature loader over a bytes reader; undecodable assets are left out (not matched)."""

    def load(ids: Sequence[str]) -> dict[str, Signature]:
        out = {}
        for asset_id, data in read(ids).items():
            try:
                out[asset_id] = signature(reduced_gray(data))
            except ValueError:
                continue
        return out

    return load


def run_dedup(
    ids: Sequence[str],
    hashes: np.ndarray,
    params: DedupParams,
    signatures: SignatureLoader,
    *,
    new_from: int = 0,
    sources: Iterable[tuple[str | None, str]] = (),
    splits: Mapping[str, str] | None = None,
) -> DedupResult:
    """Exact and near duplicates of a dataset.

    `ids`/`hashes`: every stored asset with a pHash, earliest first; with `new_from` > 0 only
    pairs involving positions >= new_from (assets added since the last run) are searched.
    `sources`: (asset_id, source_uri) ledger rows of the assets to report: all of them in a
    full run, in an incremental run all rows of the assets that gained a source since the last
    run (so earlier exact rows are not written again). `splits`: asset_id -> split, to report
    near duplicates that straddle splits (train/val leakage).
    """
    matches = near_duplicates(ids, hashes, params, signatures, new_from)
    return DedupResult(
        matches=matches,
        exact=exact_duplicates(sources),
        leakage=split_leakage(matches, splits or {}),
        assets=len(ids),
        new_assets=len(ids) - new_from,
        params=params,
    )


def duplicate_rows(result: DedupResult, run_id: str, found_at: datetime) -> list[dict[str, Any]]:
    """Rows of the `duplicates` table (DUPLICATES_SCHEMA columns) for one run.

    An exact duplicate is one row pointing at itself (distance 0, method 'exact'): its copies
    are the `sources` rows of that asset id. A near duplicate points from the later asset to
    the earlier one, with the pHash distance and 'phash', 'phash+orb' or 'phash+thumb'.
    """
    rows = [
        {
            "asset_id": e.asset_id,
            "duplicate_of": e.asset_id,
            "distance": 0,
            "method": EXACT,
            "run_id": run_id,
            "found_at": found_at,
        }
        for e in result.exact
    ]
    rows += [
        {
            "asset_id": m.asset_id,
            "duplicate_of": m.duplicate_of,
            "distance": m.distance,
            "method": m.method,
            "run_id": run_id,
            "found_at": found_at,
        }
        for m in result.matches
    ]
    return rows
