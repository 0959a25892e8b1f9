"""Label policy: what `align` treats as a problem, and what it does with out-of-bounds boxes.

Read from the `[labels]` table of a policy file (`quality/policies/*.toml`) by
`label_policy_from_table`, strictly: an unknown key or a bad value raises ConfigError naming
the file and the key. Every key is optional; a missing table means `LabelPolicy()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError

MISSING_LABEL = ("count", "error")
OUT_OF_BOUNDS = ("keep", "clip", "drop")


@dataclass(frozen=True)
class LabelPolicy:
    """See `LABELS_TOML` for what each field means."""

    missing_label: str = "count"  # 'error': unlabelled images get a label-quarantine record
    allow_empty_images: bool = True  # an image record with no annotation is a negative
    allow_empty_categories: bool = True  # a declared category no annotation uses is fine
    bbox_tolerance: float = 1.0  # pixels a box may overrun an image edge (rounding)
    out_of_bounds: str = "keep"  # 'keep' flagged as is | 'clip' to the image | 'drop'


LABELS_TOML = """\
[labels]
# An ingested image that no annotation covers: "count" only counts it (in the ingest report);
# "error" also records it in `quarantine` (category 'label', reason 'unlabelled_image').
missing_label = "count"
# An image listed in the labels with no annotation (COCO), or an empty YOLO .txt, is a
# deliberate negative (background); false: treat it as unlabelled too.
allow_empty_images = true
# A category declared in the labels that no annotation uses is fine; false: one
# 'empty_category' record per such category (nothing is dropped).
allow_empty_categories = true
# Pixels a box may overrun an image edge before it is 'bbox_out_of_bounds' (coordinates are
# rounded in most tools: 640.4 on a 640-pixel image is not an error).
bbox_tolerance = 1.0
# What happens to a box that overruns its image (always flagged 'bbox_out_of_bounds'):
# "keep" imports it as written; "clip" imports it cut to the image (dropped if nothing is
# left); "drop" does not import it.
out_of_bounds = "keep"
"""


def label_policy_from_table(path: str | Path, table: Mapping[str, Any] | None) -> LabelPolicy:
    """The LabelPolicy of a policy file's `[labels]` table (None: the defaults)."""
    if table is None:
        return LabelPolicy()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: 'labels' must be a table")
    known = {f.name for f in fields(LabelPolicy)}
    for key in sorted(table.keys() - known):
        raise ConfigError(f"{path}: unknown key 'labels.{key}' (expected {sorted(known)})")
    values: dict[str, Any] = {}
    for key in ("missing_label", "out_of_bounds"):
        if key in table:
            choices = MISSING_LABEL if key == "missing_label" else OUT_OF_BOUNDS
            if table[key] not in choices:
                raise ConfigError(
                    f"{path}: labels.{key} must be one of {list(choices)}, got {table[key]!r}"
                )
            values[key] = table[key]
    for key in ("allow_empty_images", "allow_empty_categories"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{path}: labels.{key} must be true or false")
            values[key] = table[key]
    if "bbox_tolerance" in table:
        value = table["bbox_tolerance"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ConfigError(f"{path}: labels.bbox_tolerance must be a number >= 0 (pixels)")
        values["bbox_tolerance"] = float(value)
    return LabelPolicy(**values)
