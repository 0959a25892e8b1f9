"""The [labels] policy table: defaults, the documented TOML, strict errors naming file and key."""

from __future__ import annotations

import tomllib

import pytest

from lakehouse.errors import ConfigError
from lakehouse.labels import LABELS_TOML, LabelPolicy, label_policy_from_table


def test_documented_section_is_the_defaults():
    table = tomllib.loads(LABELS_TOML)["labels"]
    assert label_policy_from_table("p.toml", table) == LabelPolicy()
    assert label_policy_from_table("p.toml", None) == LabelPolicy()
    assert LabelPolicy().missing_label == "count"


def test_values_are_read():
    policy = label_policy_from_table(
        "p.toml",
        {
            "missing_label": "error",
            "allow_empty_images": False,
            "allow_empty_categories": False,
            "bbox_tolerance": 0,
            "out_of_bounds": "clip",
        },
    )
    assert policy == LabelPolicy("error", False, False, 0.0, "clip")
    assert isinstance(policy.bbox_tolerance, float)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"missing_labels": "error"}, "unknown key 'labels.missing_labels'"),
        ({"missing_label": "warn"}, "labels.missing_label must be one of ['count', 'error']"),
        ({"out_of_bounds": "fix"}, "labels.out_of_bounds must be one of"),
        ({"allow_empty_images": "yes"}, "labels.allow_empty_images must be true or false"),
        ({"allow_empty_categories": 1}, "labels.allow_empty_categories must be true or false"),
        ({"bbox_tolerance": -1}, "labels.bbox_tolerance must be a number >= 0"),
        ({"bbox_tolerance": True}, "labels.bbox_tolerance must be a number >= 0"),
        ({"bbox_tolerance": "1"}, "labels.bbox_tolerance must be a number >= 0"),
    ],
)
def test_strict_errors_name_file_and_key(table, message):
    with pytest.raises(ConfigError) as caught:
        label_policy_from_table("quality/policies/strict.toml", table)
    assert str(caught.value).startswith("quality/policies/strict.toml: ")
    assert message in str(caught.value)


def test_labels_must_be_a_table():
    with pytest.raises(ConfigError, match=r"p.toml: 'labels' must be a table"):
        label_policy_from_table("p.toml", ["count"])  # type: ignore[arg-type]
