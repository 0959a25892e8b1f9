"""Duplicate search: exact copies from the sources ledger, near duplicates from pHash.

`index` finds every pair of 64-bit hashes within a Hamming radius without comparing all pairs;
`detect` turns candidate pairs into matches (pHash alone when very close, else confirmed by
`confirm`: keypoints with a geometric check, or thumbnails); `job` is the I/O-free core of
`lakehouse dedup`; `params` holds the `[dedup]` policy thresholds, measured with `evalset`
and `evaluate`; `hashing` computes pHash as ingest does.
"""

from lakehouse.dedup.detect import (
    EXACT,
    PHASH,
    ExactDuplicate,
    Match,
    exact_duplicates,
    near_duplicates,
    split_leakage,
)
from lakehouse.dedup.index import HashIndex, Pairs, pairs_between
from lakehouse.dedup.job import DedupResult, duplicate_rows, run_dedup, signatures_from_content
from lakehouse.dedup.params import DedupParams, dedup_params_from_table

__all__ = [
    "EXACT",
    "PHASH",
    "DedupParams",
    "DedupResult",
    "ExactDuplicate",
    "HashIndex",
    "Match",
    "Pairs",
    "dedup_params_from_table",
    "duplicate_rows",
    "exact_duplicates",
    "near_duplicates",
    "pairs_between",
    "run_dedup",
    "signatures_from_content",
    "split_leakage",
]
