"""Precision and recall on the labelled evaluation set, at the default thresholds.

Measured at the defaults: precision 1.0, recall 0.988; every photometric, re-encode, resize
and format variant, every rotation and every centred 5% crop is found; 5% cut off one corner
(up to 20 pHash bits) is the hard case, found 81% of the time. The bounds below leave a margin
of about one image per transform for other library versions (48 bases per transform: one
miss is ~0.02), and hard negatives must never match.
"""

from __future__ import annotations

import pytest

from lakehouse.dedup import DedupParams, evalset
from lakehouse.dedup.evaluate import Scores, our_hashes, pipeline_matches, score, threshold_matches

MIN_RECALL = {"crop_5_corner": 0.7}  # every other transform: >= 0.97


@pytest.fixture(scope="module")
def default_scores() -> Scores:
    return score(evalset.build(), pipeline_matches(DedupParams()))


def test_the_set_is_deterministic_and_labelled() -> None:
    images = evalset.build()
    assert len(images) == 8 * 6 * (1 + len(evalset.TRANSFORMS)) + evalset.N_SYNTHETIC
    assert len({im.name for im in images}) == len(images)
    again = evalset.synthetic(5)
    assert (again == evalset.synthetic(5)).all()
    assert len(evalset.similar_colour_groups()) == evalset.SIMILAR_COLOUR_PAIRS


def test_precision_and_recall_at_the_defaults(default_scores: Scores) -> None:
    assert default_scores.precision >= 0.995
    assert default_scores.overall_recall >= 0.97
    for transform, recall in default_scores.recall.items():
        assert recall >= MIN_RECALL.get(transform, 0.97), transform


def test_hard_negatives_never_match(default_scores: Scores) -> None:
    assert default_scores.false_matches == {"crop_offset": 0, "similar_colour": 0, "distinct": 0}


def test_the_second_signal_is_what_keeps_the_wide_radius_precise() -> None:
    """pHash alone at the same radius matches a negative; the two-signal pipeline does not."""
    radius = DedupParams().max_distance
    alone = score(evalset.build(), threshold_matches(our_hashes(), radius))
    assert sum(alone.false_matches.values()) >= 1
    both = score(evalset.build(), pipeline_matches(DedupParams()))
    assert sum(both.false_matches.values()) == 0
    assert both.overall_recall >= alone.overall_recall - 0.005
