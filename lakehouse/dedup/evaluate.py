"""Precision and recall of a near-duplicate matcher on the labelled evaluation set.

A matcher is scored by the set of image pairs it declares duplicates, found over the whole set
at once (as a dedup run would). Recall is per transform, over the (original, transformed)
pairs; derived pairs (two transforms of one base, e.g. a crop and a rotation) count as correct
when matched but are reported apart, since a compound change may exceed what is promised.
Precision is over every matched pair; hard negatives are counted per kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from lakehouse.dedup import evalset
from lakehouse.dedup.confirm import Signature, reduced_gray, signature
from lakehouse.dedup.detect import near_duplicates
from lakehouse.dedup.evalset import EvalImage
from lakehouse.dedup.hashing import phash_of
from lakehouse.dedup.index import HashIndex
from lakehouse.dedup.params import DedupParams

Pair = tuple[int, int]  # positions into the image list, i < j


@dataclass(frozen=True)
class Scores:
    """`recall[transform]` over (original, transform) pairs; `false_matches[kind]` counts
    matched negatives per kind; `derived_recall` over pairs of two transforms of one base."""

    recall: dict[str, float]
    false_matches: dict[str, int]
    precision: float
    overall_recall: float
    derived_recall: float
    matched: int


def score(images: Sequence[EvalImage], matched: Iterable[Pair]) -> Scores:
    """Score the `matched` pairs against the ground truth of `images`."""
    matched = {(min(a, b), max(a, b)) for a, b in matched}
    false = Counter(
        kind for a, b in matched if (kind := evalset.negative_kind(images[a], images[b]))
    )
    original = {im.group: p for p, im in enumerate(images) if im.transform == "original"}
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for p, im in enumerate(images):
        if im.transform != "original":
            totals[im.transform] += 1
            o = original[im.group]
            hits[im.transform] += (min(o, p), max(o, p)) in matched
    derived = _derived_pairs(images)
    true_matched = len(matched) - sum(false.values())
    return Scores(
        recall={t: hits[t] / totals[t] for t in totals},
        false_matches={kind: false[kind] for kind in ("crop_offset", "similar_colour", "distinct")},
        precision=true_matched / len(matched) if matched else 1.0,
        overall_recall=sum(hits.values()) / sum(totals.values()),
        derived_recall=len(derived & matched) / len(derived),
        matched=len(matched),
    )


def _derived_pairs(images: Sequence[EvalImage]) -> set[Pair]:
    groups: dict[str, list[int]] = {}
    for p, im in enumerate(images):
        if im.transform != "original":
            groups.setdefault(im.group, []).append(p)
    return {(a, b) for members in groups.values() for a in members for b in members if a < b}


@cache
def our_hashes() -> np.ndarray:
    """pHash of every evaluation image exactly as ingest computes it (reduced decode)."""
    return np.array([phash_of(im.data) for im in evalset.build()], np.int64)


@cache
def _signatures() -> dict[str, Signature]:
    return {im.name: signature(reduced_gray(im.data)) for im in evalset.build()}


def pipeline_matches(params: DedupParams) -> set[Pair]:
    """The pairs our detector matches on the evaluation set under `params`."""
    images = evalset.build()
    names = [im.name for im in images]
    position = {name: p for p, name in enumerate(names)}
    matches = near_duplicates(names, our_hashes(), params, lambda ids: _signatures())
    return {(position[m.duplicate_of], position[m.asset_id]) for m in matches}


def threshold_matches(hashes: np.ndarray, k: int) -> set[Pair]:
    """Every pair within k bits of `hashes`: a matcher on pHash alone."""
    pairs = HashIndex().build(np.arange(len(hashes)), hashes).self_pairs(k)
    return set(zip(pairs.i.tolist(), pairs.j.tolist(), strict=True))


def best_threshold(hashes: np.ndarray, max_k: int = 24) -> tuple[int, Scores]:
    """The pHash-alone threshold with the best recall among those of the best precision,
    and its scores: the fairest setting for a single-hash baseline."""
    images = evalset.build()
    scored = [(k, score(images, threshold_matches(hashes, k))) for k in range(max_k + 1)]
    return max(scored, key=lambda ks: (ks[1].precision, ks[1].overall_recall))
