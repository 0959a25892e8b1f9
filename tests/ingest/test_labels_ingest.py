"""`lakehouse ingest --labels`: COCO/YOLO into `annotations`, label problems quarantined,
corrected labels re-imported on a branch without touching image bytes, versioned together."""

from __future__ import annotations

import pytest

from lakehouse.labels import LabelFileError
from lakehouse.samples_labels import CLEAN_ROWS, CORRECTED, NOT_JSON, write_labelled_folder


@pytest.fixture
def sample(tmp_path):
    return write_labelled_folder(tmp_path / "labelled")


def _annotations(lake, **at):
    return lake.sql(
        "SELECT annotation_id, asset_id, category, bbox, content_sha256, split, "
        "source FROM annotations",
        "ds",
        **at,
    )


def test_coco_labels_land_with_their_images(lake, sample):
    report = lake.ingest([sample.root], "ds", labels=sample.clean)
    assert report.labels["annotations"] == CLEAN_ROWS and report.labels["reasons"] == {}
    rows = _annotations(lake)
    assert rows.height == CLEAN_ROWS
    assert set(rows["asset_id"]) <= set(sample.hashes.values())
    assert set(rows["split"]) == {"train"}
    assert set(rows["category"]) <= {"person", "car", "dog"}
    version = lake.resolve("ds")
    assert version.properties["annotation_count"] == CLEAN_ROWS
    assert lake.verify("ds").ok  # the fingerprint covers labels too


def test_label_defects_are_quarantined_with_reasons_and_assets_stay(lake, sample):
    report = lake.ingest([sample.root], "ds", labels=sample.case("bbox_degenerate"))
    assert report.labels["reasons"] == {"bbox_degenerate": 2}
    assert report.counts["added"] == 6  # the images themselves stay
    label_rows = lake.sql("SELECT category, reasons FROM quarantine WHERE category = 'label'", "ds")
    assert label_rows.height == 2
    assert all(r == ["bbox_degenerate"] for r in label_rows["reasons"].to_list())
    assert _annotations(lake).height == CLEAN_ROWS - 2


def test_invalid_labels_file_imports_nothing(lake, sample):
    with pytest.raises(LabelFileError, match="nothing was imported"):
        lake.ingest([sample.root], "ds", labels=sample.coco / NOT_JSON)
    assert lake.datasets() == [] or lake.sql("SELECT count(*) FROM assets", "ds").item() == 0


def test_label_fix_on_a_branch_rewrites_only_labels_then_time_travel(lake, sample):
    first = lake.ingest([sample.root], "ds", labels=sample.clean, label_source="coco-train")
    before = _annotations(lake)
    lake.branch_create("ds", "relabel")
    fix = lake.ingest(
        [sample.root],
        "ds",
        ref="relabel",
        labels=sample.coco / CORRECTED,
        label_source="coco-train",
    )
    assert fix.labels["changes"] == {
        "unchanged": CLEAN_ROWS - 2,
        "edited": 1,
        "added": 1,
        "removed": 1,
    }
    assert fix.counts["added"] == 0 and fix.snapshots["assets"] == first.snapshots["assets"]

    diff = lake.diff("ds", "main", "relabel")
    assert diff.added == [] and diff.removed == []
    assert sum(v["added"] for v in diff.annotations.values()) == 2  # the edit + the new box
    assert sum(v["removed"] for v in diff.annotations.values()) == 2  # the edit + the deleted

    published = lake.publish("ds", "relabel", "fixed labels")
    after = _annotations(lake)
    assert after.height == CLEAN_ROWS
    original = lake.resolve("ds", version_id=first.version_id)
    assert published.properties["fingerprint"] != original.properties["fingerprint"]
    assert published.properties["asset_count"] == original.properties["asset_count"]
    assert _annotations(lake, version_id=first.version_id).equals(before)  # time travel
    assert lake.verify("ds").ok


def test_yolo_directory(lake, sample):
    report = lake.ingest([sample.root], "ds", labels=sample.yolo)
    assert report.labels["annotations"] == CLEAN_ROWS
