"""Sample labels for tests and demos: real COCO files and a YOLO directory over real images.

`write_labelled_folder(dest)` writes a small folder of distinct photos (`samples.make_jpeg`) to
`dest/images` (the ingest root), a clean COCO file `dest/coco/instances_train.json`, one COCO
variant per label defect (`LABEL_CASES`: each documents the exact reasons, counts and rows
`lakehouse.labels.align` must give under its policy), a file that is not JSON, one that is JSON
but not COCO, a corrected file for re-import, and the same labels as a YOLO directory
`dest/yolo` (outside the root, so its image prefix is ''). Everything is deterministic.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.labels.align import FileFacts
from lakehouse.samples import make_jpeg

CATEGORIES = ({"id": 1, "name": "person"}, {"id": 2, "name": "car"}, {"id": 3, "name": "dog"})
# (path relative to the ingest root, seed, (width, height))
IMAGES: tuple[tuple[str, int, tuple[int, int]], ...] = (
    ("cam_a/frame_0000.jpg", 7000, (320, 240)),
    ("cam_a/frame_0001.jpg", 7001, (320, 240)),
    ("cam_a/frame_0002.jpg", 7002, (320, 240)),
    ("cam_b/frame_0000.jpg", 7003, (240, 320)),
    ("cam_b/frame_0001.jpg", 7004, (240, 320)),
    ("cam_b/frame_0002.jpg", 7005, (240, 320)),
)
COPIES = {"backup/frame_0000.jpg": "cam_a/frame_0000.jpg"}  # same bytes under another name
BOXES_PER_IMAGE = 2
CLEAN_ROWS = len(IMAGES) * BOXES_PER_IMAGE
CLEAN, NOT_JSON, NOT_COCO, CORRECTED = (
    "instances_train.json",
    "train_not_json.json",
    "train_not_coco.json",
    "instances_train_corrected.json",
)


def coco_clean() -> dict[str, Any]:
    """The clean COCO labels of IMAGES: every box inside its image, ids 1.., split by name."""
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i, (rel, seed, (width, height)) in enumerate(IMAGES, 1):
        images.append({"id": i, "file_name": rel, "width": width, "height": height})
        rng = random.Random(seed)
        for _ in range(BOXES_PER_IMAGE):
            w, h = rng.randint(16, width // 2), rng.randint(16, height // 2)
            x, y = rng.randint(0, width - w), rng.randint(0, height - h)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": rng.randint(1, len(CATEGORIES)),
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "lakehouse sample labels", "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [dict(c, supercategory="thing") for c in CATEGORIES],
    }


def _ann(data: dict[str, Any], ann_id: int) -> dict[str, Any]:
    return next(a for a in data["annotations"] if a["id"] == ann_id)


def _image(data: dict[str, Any], image_id: int) -> dict[str, Any]:
    return next(i for i in data["images"] if i["id"] == image_id)


def _missing_file(data: dict[str, Any]) -> None:
    data["images"].append(
        {"id": 99, "file_name": "cam_a/frame_0099.jpg", "width": 320, "height": 240}
    )
    data["annotations"].append(
        {
            "id": 990,
            "image_id": 99,
            "category_id": 1,
            "bbox": [10, 10, 20, 20],
            "area": 400,
            "iscrowd": 0,
        }
    )


def _unlabelled(data: dict[str, Any]) -> None:
    data["images"] = [i for i in data["images"] if i["id"] != 6]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 6]


def _out_of_bounds(data: dict[str, Any]) -> None:
    ann = _ann(data, 1)
    width = _image(data, ann["image_id"])["width"]
    ann["bbox"] = [width - 30, 10, 50, 40]  # 20 px past the right edge


def _degenerate(data: dict[str, Any]) -> None:
    _ann(data, 2)["bbox"][2] = 0
    _ann(data, 3)["bbox"][3] = -5


def _unknown_category(data: dict[str, Any]) -> None:
    _ann(data, 4)["category_id"] = 99


def _duplicate_id(data: dict[str, Any]) -> None:
    twin = copy.deepcopy(_ann(data, 5))
    twin["bbox"] = [1, 1, 30, 30]
    data["annotations"].append(twin)


def _size_mismatch(data: dict[str, Any]) -> None:
    _image(data, 2)["width"] = 640


def _orphan(data: dict[str, Any]) -> None:
    data["annotations"].append(
        {
            "id": 991,
            "image_id": 999,
            "category_id": 1,
            "bbox": [5, 5, 10, 10],
            "area": 100,
            "iscrowd": 0,
        }
    )


def _by_hash(data: dict[str, Any], hashes: dict[str, str]) -> None:
    image = _image(data, 3)
    image["file_name"] = f"export/{hashes[image['file_name']]}.jpg"  # as `lakehouse export` names


def _empty_category(data: dict[str, Any]) -> None:
    data["categories"].append({"id": 4, "name": "bicycle", "supercategory": "thing"})


def coco_corrected(data: dict[str, Any]) -> dict[str, Any]:
    """A corrected re-delivery: box 3 moved, annotation 5 deleted, annotation 100 added."""
    fixed = copy.deepcopy(data)
    _ann(fixed, 3)["bbox"][0] += 2
    fixed["annotations"] = [a for a in fixed["annotations"] if a["id"] != 5]
    fixed["annotations"].append(
        {
            "id": 100,
            "image_id": 1,
            "category_id": 2,
            "bbox": [4, 4, 12, 12],
            "area": 144,
            "iscrowd": 0,
        }
    )
    return fixed


@dataclass(frozen=True)
class LabelCase:
    """A COCO variant with one defect, and what `align` must report for it under `policy`."""

    name: str
    mutate: Callable[..., None]
    reasons: dict[str, int]  # Alignment.reasons
    rows: int  # annotation rows imported
    problems: int  # quarantine records
    policy: dict[str, Any] = field(default_factory=dict)  # LabelPolicy overrides

    @property
    def filename(self) -> str:
        return f"train_{self.name}.json"


LABEL_CASES: tuple[LabelCase, ...] = (
    LabelCase("missing_file", _missing_file, {"missing_file": 1}, CLEAN_ROWS, 1),
    LabelCase("unlabelled_image", _unlabelled, {"unlabelled_image": 1}, CLEAN_ROWS - 2, 0),
    LabelCase(
        "unlabelled_image_error",
        _unlabelled,
        {"unlabelled_image": 1},
        CLEAN_ROWS - 2,
        1,
        {"missing_label": "error"},
    ),
    LabelCase("bbox_out_of_bounds", _out_of_bounds, {"bbox_out_of_bounds": 1}, CLEAN_ROWS, 1),
    LabelCase(
        "bbox_out_of_bounds_drop",
        _out_of_bounds,
        {"bbox_out_of_bounds": 1},
        CLEAN_ROWS - 1,
        1,
        {"out_of_bounds": "drop"},
    ),
    LabelCase("bbox_degenerate", _degenerate, {"bbox_degenerate": 2}, CLEAN_ROWS - 2, 2),
    LabelCase("unknown_category", _unknown_category, {"unknown_category": 1}, CLEAN_ROWS - 1, 1),
    LabelCase(
        "duplicate_annotation_id", _duplicate_id, {"duplicate_annotation_id": 1}, CLEAN_ROWS, 1
    ),
    LabelCase("image_size_mismatch", _size_mismatch, {"image_size_mismatch": 1}, CLEAN_ROWS, 1),
    LabelCase("orphan_annotation", _orphan, {"orphan_annotation": 1}, CLEAN_ROWS, 1),
    LabelCase(
        "empty_category",
        _empty_category,
        {"empty_category": 1},
        CLEAN_ROWS,
        1,
        {"allow_empty_categories": False},
    ),
    LabelCase("matched_by_hash", _by_hash, {}, CLEAN_ROWS, 0),
)


@dataclass(frozen=True)
class LabelSample:
    """What `write_labelled_folder` wrote."""

    root: Path  # the ingest root (images only)
    coco: Path  # directory of the COCO files
    yolo: Path  # YOLO label directory (classes.txt + one .txt per image)
    files: dict[str, FileFacts]  # every image of root, as an ingest would describe it
    hashes: dict[str, str]  # path -> sha256

    @property
    def clean(self) -> Path:
        return self.coco / CLEAN

    def case(self, name: str) -> Path:
        return self.coco / f"train_{name}.json"


def write_coco(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path


def write_labelled_folder(dest: Path) -> LabelSample:
    """Write images, COCO files (clean, one per LABEL_CASES, broken ones) and a YOLO dir."""
    root, coco, yolo = dest / "images", dest / "coco", dest / "yolo"
    files: dict[str, FileFacts] = {}
    hashes: dict[str, str] = {}
    blobs = {rel: (make_jpeg(seed, size), size) for rel, seed, size in IMAGES}
    blobs.update({copy_: blobs[original] for copy_, original in COPIES.items()})
    for rel, (blob, (width, height)) in sorted(blobs.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        hashes[rel] = hashlib.sha256(blob).hexdigest()
        files[rel] = FileFacts(hashes[rel], width, height, path.resolve().as_uri())
    clean = coco_clean()
    write_coco(coco / CLEAN, clean)
    for case in LABEL_CASES:
        data = copy.deepcopy(clean)
        if case.mutate is _by_hash:
            _by_hash(data, hashes)
        else:
            case.mutate(data)
        write_coco(coco / case.filename, data)
    write_coco(coco / CORRECTED, coco_corrected(clean))
    text = json.dumps(clean, indent=1)
    (coco / NOT_JSON).write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-file
    write_coco(coco / NOT_COCO, [{"file": rel, "label": "person"} for rel, _, _ in IMAGES])
    write_yolo(yolo, clean)
    return LabelSample(root, coco, yolo, files, hashes)


def write_yolo(directory: Path, data: dict[str, Any]) -> None:
    """The COCO labels `data` as YOLO: classes.txt (class = COCO id - 1), one .txt per image."""
    directory.mkdir(parents=True, exist_ok=True)
    names = {c["id"]: c["name"] for c in data["categories"]}
    (directory / "classes.txt").write_text(
        "".join(f"{names[i]}\n" for i in sorted(names)), encoding="utf-8"
    )
    for image in data["images"]:
        width, height = image["width"], image["height"]
        lines = []
        for ann in data["annotations"]:
            if ann["image_id"] != image["id"]:
                continue
            x, y, w, h = ann["bbox"]
            cx, cy = (x + w / 2) / width, (y + h / 2) / height
            lines.append(f"{ann['category_id'] - 1} {cx!r} {cy!r} {w / width!r} {h / height!r}\n")
        path = directory / image["file_name"].rsplit(".", 1)[0]
        path = path.with_name(path.name + ".txt")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
