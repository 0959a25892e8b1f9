"""Parse a YOLO label directory (one `.txt` per image) into a LabelSet with pixel boxes.

Each line is `class cx cy w h` with coordinates normalised to the image size (a sixth number is
kept as the attribute `confidence`; `class x1 y1 x2 y2 ...` with at least three points is a
YOLO segmentation polygon: its box is the polygon's extent and the polygon is kept, in pixels,
as the attribute `segmentation` in COCO form). Blank lines are ignored; an empty file says "no
objects" (an explicit negative). Any other line makes the whole directory refused with
LabelFileError naming the file and line.

Images: the label file `<dir>/a/b.txt` belongs to the image whose path relative to the ingest
root, minus its extension, is `<image_prefix>/a/b` (`yolo_image_prefix` derives the prefix with
the usual `labels` -> `images` convention). Sizes come from `image_sizes` (display size: see
`display_size`); a label file with no such image keeps its lines, unconverted, and `align`
reports it as 'missing_file'. Class names come from `classes.txt` (line n names class n), else
`names` in `data.yaml`/`dataset.yaml`, looked up in the directory then its parent; without a
class list every class id is accepted, unnamed. The split is the first directory component
named train/val/valid/validation/test, when there is one.
"""

from __future__ import annotations

import math
import os
import posixpath
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from lakehouse.labels.model import (
    BBox,
    LabelAnnotation,
    LabelFileError,
    LabelImage,
    LabelSet,
    attr_text,
    infer_split,
)

CLASS_FILES = ("classes.txt",)
YAML_FILES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")


def yolo_image_prefix(labels_dir: str | Path, root: str | Path) -> str:
    """Where the images of `labels_dir` live, relative to the ingest `root`.

    Labels outside the root: '' (label paths are image paths). Inside: the label directory's
    relative path with its last `labels` component replaced by `images` (`labels/train` ->
    `images/train`); without a `labels` component the images sit next to the label files.
    """
    try:
        rel = Path(labels_dir).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return ""
    parts = list(PurePosixPath(rel.as_posix()).parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "labels":
            parts[i] = "images"
            break
    return posixpath.join(*parts) if parts and parts != ["."] else ""


def parse_yolo(
    directory: str | Path,
    image_sizes: Mapping[str, tuple[int, int]],
    image_prefix: str = "",
    split: str | None = None,
) -> LabelSet:
    """Read every label file under `directory`; `image_sizes` maps image paths relative to the
    ingest root to their (width, height). All or nothing, like parse_coco."""
    base = Path(directory)
    if not base.is_dir():
        raise LabelFileError(str(base), "not a directory of YOLO label files")
    categories, declared = _classes(base)
    by_stem: dict[str, list[str]] = defaultdict(list)
    for key in sorted(image_sizes):
        by_stem[posixpath.splitext(key)[0]].append(key)
    prefix = posixpath.normpath(image_prefix) if image_prefix not in ("", ".") else ""
    images: list[LabelImage] = []
    annotations: list[LabelAnnotation] = []
    for rel in _label_files(base):
        stem = posixpath.join(prefix, rel[: -len(".txt")]) if prefix else rel[: -len(".txt")]
        origin = str(base / rel)
        lines = _read_lines(origin)
        image_split = split or infer_split(*PurePosixPath(rel).parent.parts)
        keys = by_stem.get(stem, [])
        for key in keys or [stem]:
            size = image_sizes.get(key)
            images.append(
                LabelImage(
                    key,
                    key,
                    size[0] if size else None,
                    size[1] if size else None,
                    image_split,
                    None,
                    {"labels": rel, "image": key if size else None},
                )
            )
            annotations += (_line(origin, rel, n, tokens, key, size) for n, tokens in lines)
    return LabelSet(
        "yolo", str(base), tuple(images), categories, tuple(annotations), declared, prefix
    )


def _label_files(base: Path) -> list[str]:
    """Posix paths of the label files, sorted; hidden entries and symlinks are not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = Path(dirpath).relative_to(base).as_posix()
        for name in filenames:
            path = Path(dirpath) / name
            if (
                name.startswith(".")
                or not name.endswith(".txt")
                or name in CLASS_FILES
                or path.is_symlink()
            ):
                continue
            found.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    return sorted(found)


def _read_lines(origin: str) -> list[tuple[int, list[str]]]:
    try:
        text = Path(origin).read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise LabelFileError(origin, f"cannot read label file: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise LabelFileError(origin, f"not UTF-8 text (byte {e.start})") from e
    return [(n, line.split()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _line(
    origin: str, rel: str, n: int, tokens: list[str], image_id: str, size: tuple[int, int] | None
) -> LabelAnnotation:
    count = len(tokens)
    if count not in (5, 6) and (count < 7 or count % 2 == 0):
        raise LabelFileError(
            origin,
            f"expected 'class cx cy w h' (or a polygon 'class x1 y1 x2 y2 x3 y3 ...'), "
            f"got {count} values",
            line=n,
        )
    try:
        category = int(tokens[0])
    except ValueError:
        raise LabelFileError(origin, f"class {tokens[0]!r} is not an integer", line=n) from None
    values = []
    for token in tokens[1:]:
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise LabelFileError(origin, f"{token!r} is not a finite number", line=n)
        values.append(value)
    attrs: dict[str, str | None] = {}
    record: dict[str, Any] = {"labels": rel, "line": n, "text": " ".join(tokens)}
    if count <= 6:
        cx, cy, w, h = values[:4]
        if count == 6:
            attrs["confidence"] = attr_text(values[4])
        bbox = None
        if size is not None:
            width, height = size
            bbox = BBox(
                (cx - w / 2) * width + 0.0, (cy - h / 2) * height + 0.0, w * width, h * height
            )
    else:
        xs, ys = values[0::2], values[1::2]
        bbox = None
        if size is not None:
            width, height = size
            xs, ys = [x * width for x in xs], [y * height for y in ys]
            bbox = BBox(min(xs) + 0.0, min(ys) + 0.0, max(xs) - min(xs), max(ys) - min(ys))
            polygon = [v for xy in zip(xs, ys, strict=True) for v in xy]
            attrs["segmentation"] = attr_text([polygon])
    return LabelAnnotation(None, image_id, category, bbox, attrs, f"{rel}:{n}", origin, record)


def _classes(base: Path) -> tuple[dict[int, str], bool]:
    for folder in (base, base.parent):
        for name in CLASS_FILES:
            if (folder / name).is_file():
                return _classes_txt(folder / name), True
        for name in YAML_FILES:
            if (folder / name).is_file():
                return _yaml_names(folder / name), True
    return {}, False


def _classes_txt(path: Path) -> dict[int, str]:
    try:
        lines = path.read_bytes().decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise LabelFileError(str(path), f"cannot read class names: {e}") from e
    names = [line.strip() for line in lines]
    while names and not names[-1]:
        names.pop()
    for n, label in enumerate(names, 1):
        if not label:
            raise LabelFileError(str(path), "empty class name", line=n)
    return dict(enumerate(names))


def _yaml_names(path: Path) -> dict[int, str]:
    import yaml  # PyYAML: a Ray dependency; only YOLO datasets with a data.yaml need it

    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8-sig"))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        raise LabelFileError(
            str(path), f"not valid YAML: {e.problem}", line=line, column=column
        ) from e
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise LabelFileError(str(path), f"cannot read class names: {e}") from e
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list) and all(isinstance(v, str) and v for v in names):
        return dict(enumerate(names))
    if isinstance(names, dict) and all(
        isinstance(k, int) and not isinstance(k, bool) and isinstance(v, str) and v
        for k, v in names.items()
    ):
        return {int(k): v for k, v in sorted(names.items())}
    raise LabelFileError(
        str(path), "'names' must be a list of class names or a mapping of class id to name"
    )
