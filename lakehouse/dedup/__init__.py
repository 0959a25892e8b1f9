"""Duplicate search: exact copies from the sources ledger, near duplicates from pHash.

`index` finds every pair of 64-bit hashes within a Hamming radius without comparing all pairs;
`detect` turns candidate pairs into matches (pHash alone when very close, else confirmed by
`thumbs`); `job` is the I/O-free core of `lakehouse dedup`; `params` holds the `[dedup]`
policy thresholds, measured with `evalset` and `evaluate`.
"""

from lakehouse.dedup.detect import (
    EXACT,
    PHASH,
    PHASH_THUMB,
    ExactDuplicate,
    Match,
    exact_duplicates,
    near_duplicates,
    split_leakage,
)
from lakehouse.dedup.index import HashIndex, Pairs, pairs_between
from lakehouse.dedup.job import DedupResult, duplicate_rows, run_dedup, thumbs_from_content
from lakehouse.dedup.params import DedupParams, dedup_params_from_table

__all__ = [
    "EXACT",
    "PHASH",
    "PHASH_THUMB",
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
    "split_leakage",
    "thumbs_from_content",
]
