"""Helpers shared by the training tests: a small labelled dataset with two versions.

`build_street(home)` ingests 24 small JPEGs (tagged `v1`), then 16 more, then publishes labels
for all 40 (tagged `v2`, also `main`). Labels are written straight to the `annotations` table
through a work branch and a publish, as label import will.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from lakehouse import Lakehouse, Settings
from lakehouse import tables as iceberg
from lakehouse.publish import publish_work_branch
from lakehouse.samples import make_jpeg
from lakehouse.schema import ANNOTATIONS, ANNOTATIONS_SCHEMA

SIZE = (64, 48)
CATEGORIES = ("car", "person", "bike")


@dataclass(frozen=True)
class Street:
    lake: Lakehouse
    v1_ids: frozenset[str]
    all_ids: frozenset[str]
    labels: dict[str, list[dict]]  # asset_id -> expected `annotations` value, by annotation_id


def write_jpegs(root: Path, seeds: range) -> dict[str, bytes]:
    """JPEGs named by seed under `root`; asset id -> bytes."""
    root.mkdir(parents=True, exist_ok=True)
    found = {}
    for seed in seeds:
        data = make_jpeg(seed, size=SIZE)
        (root / f"img_{seed:04d}.jpg").write_bytes(data)
        found[hashlib.sha256(data).hexdigest()] = data
    return found


def build_street(home: Path) -> Street:
    lake = Lakehouse(Settings.embedded(home / "home"))
    first = write_jpegs(home / "drop1", range(24))
    lake.ingest([home / "drop1"], "street")
    lake.tag_create("street", "v1")
    second = write_jpegs(home / "drop2", range(24, 40))
    lake.ingest([home / "drop2"], "street")
    labels = label_rows(sorted({*first, *second}))
    publish_labels(lake, "street", labels)
    lake.tag_create("street", "v2")
    expected: dict[str, list[dict]] = {a: [] for a in {*first, *second}}
    for row in sorted(labels, key=lambda r: r["annotation_id"]):
        box = row["bbox"]
        expected[row["asset_id"]].append(
            {
                "annotation_id": row["annotation_id"],
                "category": row["category"],
                "category_id": row["category_id"],
                "bbox": [box["x"], box["y"], box["w"], box["h"]] if box else None,
                "split": row["split"],
            }
        )
    return Street(lake, frozenset(first), frozenset({*first, *second}), expected)


def label_rows(asset_ids: list[str]) -> list[dict]:
    """One box per asset, a second image-level label on every third; every fourth is 'val'."""
    now = datetime.now(UTC)
    rows = []
    for index, asset_id in enumerate(asset_ids):
        split = "val" if index % 4 == 0 else "train"
        first = {"x": 1.0, "y": 2.0, "w": 10.0 + index, "h": 20.0}
        labels: list[tuple[str, dict[str, float] | None]] = [(CATEGORIES[index % 3], first)]
        if index % 3 == 0:
            labels.append(("scene", None))
        for number, (category, box) in enumerate(labels):
            rows.append(
                {
                    "annotation_id": f"{asset_id[:12]}-{number}",
                    "asset_id": asset_id,
                    "category": category,
                    "category_id": ([*CATEGORIES, "scene"]).index(category),
                    "bbox": box,
                    "attrs": None,
                    "source": "test",
                    "split": split,
                    "content_sha256": hashlib.sha256(f"{category}{box}".encode()).hexdigest(),
                    "ingest_id": "test-labels",
                    "created_at": now,
                }
            )
    return rows


def publish_labels(lake: Lakehouse, dataset: str, rows: list[dict]) -> None:
    fork = lake.resolve(dataset)
    branch = "lakehouse-test-labels"
    data = pa.Table.from_pylist(rows, schema=ANNOTATIONS_SCHEMA.as_arrow())
    iceberg.append(
        lake.catalog,
        f"{dataset}.{ANNOTATIONS}",
        data,
        branch,
        {"lakehouse.operation": "labels"},
        fork_from=fork.snapshots[ANNOTATIONS],
    )
    publish_work_branch(
        lake.catalog,
        lake.control,
        dataset,
        branch,
        fork,
        "main",
        "labels",
        "test labels",
        "tester",
        {},
    )
