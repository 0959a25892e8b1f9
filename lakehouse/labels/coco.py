"""Parse a COCO detection file (`images`, `annotations`, `categories`) into a LabelSet.

All or nothing: the whole file is read and checked for shape before anything is returned, and
any problem that makes the file unusable raises LabelFileError naming the file and the line and
column (JSON syntax) or the JSON path (shape). Problems of single records that the file can be
imported around (a box outside its image, an unknown category, ...) are not errors here: they
are found by `align` and become label-quarantine records.

Shape rules: the top level is an object with an `images` list; `annotations` and
`categories` default to empty lists (COCO test-split files have no annotations). An image has an
integer or string `id` and a non-empty `file_name`; `width`/`height`, when present, are positive
integers; `split`, `sha256` or `asset_id` are read when present. An annotation has `image_id`,
an integer `category_id`, and optionally an `id` and a `bbox` of four numbers; every other key
(`iscrowd`, `area`, `segmentation`, `attributes`, ...) is kept as an attribute. A category has an
integer `id` and a string `name`. The same image or category id twice is accepted only when both
records are identical: otherwise the file is ambiguous and refused. NaN/Infinity are not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lakehouse.labels.model import (
    BBox,
    LabelAnnotation,
    LabelFileError,
    LabelImage,
    LabelSet,
    attr_text,
    canonical_json,
    declared_sha256,
    infer_split,
    is_finite_number,
    is_sha256,
)

_ANNOTATION_FIELDS = frozenset({"id", "image_id", "category_id", "bbox"})


def parse_coco(path: str | Path, split: str | None = None) -> LabelSet:
    """Read a COCO file. `split` applies to every image without its own `split` key; when None
    it is inferred from the file name ('instances_val2017.json' -> 'val'), else left unknown."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise LabelFileError(name, f"cannot read labels file: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LabelFileError(name, f"not UTF-8 text (byte {e.start})") from e
    raw = _load_json(name, text)
    if not isinstance(raw, dict):
        raise LabelFileError(
            name, f"not a COCO file: top level is a JSON {_kind(raw)}, not an object"
        )
    if "images" not in raw:
        raise LabelFileError(name, "not a COCO file: no 'images' list")
    file_split = split if split is not None else infer_split(path.stem)
    images = _images(name, _list(name, raw, "images"), file_split)
    categories = _categories(name, _list(name, raw, "categories"))
    annotations = tuple(
        _annotation(name, i, record) for i, record in enumerate(_list(name, raw, "annotations"))
    )
    return LabelSet("coco", name, images, categories, annotations)


def _load_json(name: str, text: str) -> Any:
    def refuse_constant(literal: str) -> Any:
        raise ValueError(f"{literal} is not valid JSON")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as e:
        raise LabelFileError(name, f"not valid JSON: {e.msg}", line=e.lineno, column=e.colno) from e
    except ValueError as e:  # NaN / Infinity literals
        raise LabelFileError(name, f"not valid JSON: {e}") from e
    except RecursionError as e:
        raise LabelFileError(name, "not valid JSON: nested too deeply") from e


def _kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _list(name: str, raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise LabelFileError(name, f"'{key}' must be a list, not a {_kind(value)}", where=key)
    return value


def _object(name: str, value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise LabelFileError(name, f"expected an object, got a {_kind(value)}", where=where)
    return value


def _id(name: str, record: Mapping[str, Any], key: str, where: str) -> str:
    if key not in record:
        raise LabelFileError(name, f"missing '{key}'", where=where)
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        raise LabelFileError(
            name, f"'{key}' must be an integer or a non-empty string", where=f"{where}.{key}"
        )
    return str(value)


def _int(name: str, record: Mapping[str, Any], key: str, where: str, positive: bool) -> int:
    value = record[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
        kind = "a positive integer" if positive else "an integer"
        raise LabelFileError(name, f"'{key}' must be {kind}, got {value!r}", where=f"{where}.{key}")
    return value


def _images(name: str, records: list[Any], file_split: str | None) -> tuple[LabelImage, ...]:
    images: dict[str, LabelImage] = {}
    for i, value in enumerate(records):
        where = f"images[{i}]"
        record = _object(name, value, where)
        image_id = _id(name, record, "id", where)
        file_name = record.get("file_name")
        if not isinstance(file_name, str) or not file_name.strip():
            raise LabelFileError(name, "'file_name' must be a non-empty string", where=where)
        size = [
            _int(name, record, key, where, positive=False) if record.get(key) is not None else None
            for key in ("width", "height")
        ]
        split = record.get("split", file_split)
        if split is not None and not isinstance(split, str):
            raise LabelFileError(name, "'split' must be a string", where=f"{where}.split")
        declared = None
        for key in ("sha256", "asset_id"):
            if isinstance(record.get(key), str) and is_sha256(record[key]):
                declared = record[key].lower()
                break
        image = LabelImage(
            image_id,
            file_name.replace("\\", "/"),
            size[0],
            size[1],
            (infer_split(split) or split) if split else None,
            declared or declared_sha256(file_name.replace("\\", "/")),
            record,
        )
        known = images.get(image_id)
        if known is not None and canonical_json(known.record) != canonical_json(record):
            raise LabelFileError(
                name, f"image id {image_id} is used by two different image records", where=where
            )
        images.setdefault(image_id, image)
    return tuple(images.values())


def _categories(name: str, records: list[Any]) -> dict[int, str]:
    categories: dict[int, str] = {}
    for i, value in enumerate(records):
        where = f"categories[{i}]"
        record = _object(name, value, where)
        if "id" not in record:
            raise LabelFileError(name, "missing 'id'", where=where)
        category_id = _int(name, record, "id", where, positive=False)
        label = record.get("name")
        if not isinstance(label, str) or not label:
            raise LabelFileError(name, "'name' must be a non-empty string", where=f"{where}.name")
        if categories.get(category_id, label) != label:
            raise LabelFileError(
                name,
                f"category id {category_id} is named both {categories[category_id]!r} "
                f"and {label!r}",
                where=where,
            )
        categories[category_id] = label
    return categories


def _annotation(name: str, index: int, value: Any) -> LabelAnnotation:
    where = f"annotations[{index}]"
    record = _object(name, value, where)
    ann_id = _id(name, record, "id", where) if record.get("id") is not None else None
    image_id = _id(name, record, "image_id", where)
    if "category_id" not in record:
        raise LabelFileError(name, "missing 'category_id'", where=where)
    category_id = _int(name, record, "category_id", where, positive=False)
    bbox = None
    if record.get("bbox") is not None:
        box = record["bbox"]
        if not isinstance(box, list) or len(box) != 4 or not all(map(is_finite_number, box)):
            raise LabelFileError(
                name, f"'bbox' must be [x, y, width, height], got {box!r}", where=f"{where}.bbox"
            )
        bbox = BBox(*(float(v) + 0.0 for v in box))
    attrs = {
        str(key): attr_text(v) for key, v in sorted(record.items()) if key not in _ANNOTATION_FIELDS
    }
    return LabelAnnotation(ann_id, image_id, category_id, bbox, attrs, where, name, record)
