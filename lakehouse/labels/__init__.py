"""Annotations: import COCO files and YOLO directories, match them to ingested images, check them.

Pure core, thin I/O: a parser turns a labels file into a `LabelSet` (all or nothing: a file
that cannot be imported raises `LabelFileError` and nothing is produced); `align` matches it to
the ingested images and returns the `annotations` rows and the label problems; `rows` turns
those into Arrow tables for `annotations` and `quarantine`. See `align` for the matching rule
and the reason codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lakehouse.labels.align import (
    DROPPING,
    REASONS,
    Alignment,
    FileFacts,
    LabelProblem,
    align,
    display_size,
    guess_image_prefix,
    image_sizes,
)
from lakehouse.labels.coco import parse_coco
from lakehouse.labels.ingest import LabelChanges, file_facts, label_changes
from lakehouse.labels.model import BBox, LabelAnnotation, LabelFileError, LabelImage, LabelSet
from lakehouse.labels.policy import LABELS_TOML, LabelPolicy, label_policy_from_table
from lakehouse.labels.rows import annotation_table, quarantine_rows, quarantine_table
from lakehouse.labels.yolo import parse_yolo, yolo_image_prefix

__all__ = [
    "DROPPING",
    "LABELS_TOML",
    "REASONS",
    "Alignment",
    "BBox",
    "FileFacts",
    "LabelAnnotation",
    "LabelChanges",
    "LabelFileError",
    "LabelImage",
    "LabelPolicy",
    "LabelProblem",
    "LabelSet",
    "align",
    "annotation_table",
    "display_size",
    "file_facts",
    "guess_image_prefix",
    "image_sizes",
    "label_changes",
    "label_policy_from_table",
    "load_labels",
    "parse_coco",
    "parse_yolo",
    "quarantine_rows",
    "quarantine_table",
    "yolo_image_prefix",
]


def load_labels(
    path: str | Path, files: Mapping[str, FileFacts], root: str | Path | None = None
) -> LabelSet:
    """A COCO file, or a YOLO directory (its images found under `yolo_image_prefix(path,
    root)` among `files`, keyed by path relative to the ingest root `root`)."""
    path = Path(path)
    if path.is_dir():
        prefix = yolo_image_prefix(path, root) if root is not None else ""
        return parse_yolo(path, image_sizes(files), prefix)
    return parse_coco(path)
