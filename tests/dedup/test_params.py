"""The [dedup] policy section: measured defaults, strict loading."""

from __future__ import annotations

import pytest

from lakehouse.dedup import DedupParams, dedup_params_from_table
from lakehouse.errors import ConfigError


def test_absent_or_partial_sections_take_the_defaults() -> None:
    assert dedup_params_from_table("p.toml", None) == DedupParams()
    assert dedup_params_from_table("p.toml", {"max_distance": 10}) == DedupParams(max_distance=10)
    assert dedup_params_from_table("p.toml", {"min_similarity": 1}).min_similarity == 1.0


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"max_distanse": 10}, "unknown key 'dedup.max_distanse'"),
        ({"max_distance": "10"}, "dedup.max_distance must be a int"),
        ({"max_distance": True}, "dedup.max_distance must be a int"),
        ({"max_distance": 10.5}, "dedup.max_distance must be a int"),
        ({"phash_distance": 12, "max_distance": 10}, "phash_distance <= max_distance"),
        ({"max_distance": 40}, "max_distance <= 32"),
        ({"min_similarity": 1.5}, "min_similarity"),
        ([1, 2], "must be a table"),
    ],
)
def test_bad_sections_name_the_file_and_key(table: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^p\.toml: ") as error:
        dedup_params_from_table("p.toml", table)  # type: ignore[arg-type]
    assert message in str(error.value)
