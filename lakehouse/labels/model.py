"""What a labels file says, parsed and checked for shape, before it is matched to any image.

A `LabelSet` is the all-or-nothing result of a parser (`coco.parse_coco`, `yolo.parse_yolo`):
either the whole file parsed, or `LabelFileError` was raised and nothing was produced.
Ids are kept as text ('17' for a COCO id 17), so integer and string ids compare alike.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lakehouse.errors import LakehouseError

SPLITS = ("train", "val", "test")
_SPLIT_WORDS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
_SPLIT_TOKEN = re.compile(r"[A-Za-z]+")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class LabelFileError(LakehouseError, ValueError):
    """A labels file (or YOLO directory) that cannot be imported at all: nothing was imported.

    `path` is the file, `line`/`column` (1-based) the position when the parser knows it, and
    `where` a JSON path such as 'annotations[3].bbox' for a shape error.
    """

    def __init__(
        self,
        path: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        position = f":{line}" if line is not None else ""
        position += f":{column}" if line is not None and column is not None else ""
        at = f" at {where}" if where else ""
        super().__init__(f"{path}{position}: {message}{at} (nothing was imported)")
        self.path, self.line, self.column, self.where = path, line, column, where


@dataclass(frozen=True)
class BBox:
    """A box in pixels: top-left corner, width, height (COCO convention)."""

    x: float
    y: float
    w: float
    h: float

    def as_list(self) -> list[float]:
        return [self.x, self.y, self.w, self.h]

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "w": self.w, "h": self.h}


@dataclass(frozen=True)
class LabelImage:
    """An image record of a labels file."""

    id: str  # source image id as text (COCO 'id'; YOLO: the image path)
    file_name: str  # posix path as the labels name it (relative to the labels' image directory)
    width: int | None  # declared size; None when the labels do not say
    height: int | None
    split: str | None = None  # 'train' | 'val' | 'test' when known
    sha256: str | None = None  # content hash declared by the record (see align's matching rule)
    record: Mapping[str, Any] = field(default_factory=dict, compare=False)  # raw, for quarantine


@dataclass(frozen=True)
class LabelAnnotation:
    """One annotation: a box (or an image-level label when bbox is None) of a category."""

    id: str | None  # source annotation id as text; None when the format has none (YOLO)
    image_id: str
    category_id: int
    bbox: BBox | None
    attrs: Mapping[str, str | None]  # everything else the record says, canonical text
    position: str  # where it was read: 'annotations[16]' or 'cam_a/x.txt:3'
    origin: str  # the file it was read from (the COCO file, or a YOLO .txt)
    record: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LabelSet:
    """Everything a labels file says. `categories_declared` is False when the source had no
    class list (YOLO without classes.txt/data.yaml): then any category id is accepted, unnamed.
    `scope` is the image directory (relative to the ingest root) the labels cover, '' for all.
    """

    format: str  # 'coco' | 'yolo'
    path: str  # the labels file or directory
    images: tuple[LabelImage, ...]
    categories: Mapping[int, str]
    annotations: tuple[LabelAnnotation, ...]
    categories_declared: bool = True
    scope: str = ""


def canonical_number(value: float | int) -> int | float:
    """One spelling per number: integral floats become ints, -0.0 becomes 0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value + 0 if isinstance(value, int) else value + 0.0


def canonical_value(value: Any) -> Any:
    """A JSON value with every number canonical (so 10 and 10.0 hash alike)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return canonical_number(value)
    if isinstance(value, list | tuple):
        return [canonical_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): canonical_value(v) for k, v in value.items()}
    raise TypeError(f"not a JSON value: {value!r}")


def canonical_json(value: Any) -> str:
    return json.dumps(
        canonical_value(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def attr_text(value: Any) -> str | None:
    """An attribute value as map text: strings as is, numbers canonical, the rest JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(canonical_number(value))
    return canonical_json(value)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def declared_sha256(name: str) -> str | None:
    """The sha256 a file name spells (e.g. an export's '<asset_id>.jpg'), lowercase, or None."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
    return stem.lower() if _SHA256.fullmatch(stem) else None


def is_sha256(text: str) -> bool:
    return bool(_SHA256.fullmatch(text))


def infer_split(*names: str) -> str | None:
    """The split named by path components or file-name words ('instances_val2017' -> 'val')."""
    for name in names:
        for token in _SPLIT_TOKEN.findall(name):
            split = _SPLIT_WORDS.get(token.lower())
            if split is not None:
                return split
    return None


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
