"""Matching labels to ingested images and checking them: every defect gives its exact reason,
count and row decision; re-importing a corrected file changes exactly the edited rows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse import samples_labels as sl
from lakehouse.labels import (
    DROPPING,
    REASONS,
    BBox,
    FileFacts,
    LabelAnnotation,
    LabelImage,
    LabelPolicy,
    LabelSet,
    align,
    annotation_table,
    guess_image_prefix,
    parse_coco,
    quarantine_table,
)
from lakehouse.schema import ANNOTATIONS_SCHEMA, QUARANTINE_SCHEMA

AT = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> sl.LabelSample:
    return sl.write_labelled_folder(tmp_path_factory.mktemp("labels"))


def _case(name: str) -> sl.LabelCase:
    return next(c for c in sl.LABEL_CASES if c.name == name)


def _align_case(sample: sl.LabelSample, name: str, **kwargs):
    case = _case(name)
    return align(
        parse_coco(sample.case(name)),
        sample.files,
        "coco:train",
        LabelPolicy(**case.policy),
        **kwargs,
    )


@pytest.mark.parametrize("case", sl.LABEL_CASES, ids=lambda c: c.name)
def test_every_defect_gives_its_exact_reasons_and_rows(sample, case):
    alignment = _align_case(sample, case.name)
    assert alignment.reasons == case.reasons
    assert len(alignment.rows) == case.rows
    assert len(alignment.problems) == case.problems
    for problem in alignment.problems:
        assert set(problem.reasons) <= set(REASONS)
        drops = bool(DROPPING.intersection(problem.reasons)) or (
            case.policy.get("out_of_bounds") == "drop"
        )
        assert (problem.dropped > 0) == (drops and problem.subject != "category"), problem
        assert problem.detail and "\n" not in problem.detail
    read = alignment.stats["annotations_read"]
    dropped = alignment.stats["annotations_dropped"]
    assert read - dropped == len(alignment.rows)


def test_every_reason_has_a_sample_case():
    covered = {reason for case in sl.LABEL_CASES for reason in case.reasons}
    assert covered == set(REASONS)


def test_problem_records_point_at_their_source(sample):
    labels_uri = sample.case("bbox_out_of_bounds").resolve().as_uri()
    (problem,) = _align_case(sample, "bbox_out_of_bounds").problems
    assert problem.reasons == ("bbox_out_of_bounds",)
    assert problem.source_uri == labels_uri and problem.subject == "annotation"
    assert problem.key == "annotations[0]"
    assert problem.detail == (
        "annotation 1 (annotations[0]) on 'cam_a/frame_0000.jpg': box [290, 10, 50, 40] "
        "overruns the 320x240 image by 20 px; imported"
    )
    kept = {row["annotation_id"]: row for row in _align_case(sample, "bbox_out_of_bounds").rows}
    assert kept[problem.annotation_id]["bbox"] == {"x": 290.0, "y": 10.0, "w": 50.0, "h": 40.0}
    assert problem.asset_id == sample.hashes["cam_a/frame_0000.jpg"]

    (missing,) = _align_case(sample, "missing_file").problems
    assert (missing.subject, missing.key, missing.dropped) == ("image", "99", 1)
    assert missing.detail == (
        "image 99 'cam_a/frame_0099.jpg': no ingested file at 'cam_a/frame_0099.jpg'; "
        "1 annotation(s) not imported"
    )
    (unlabelled,) = _align_case(sample, "unlabelled_image_error").problems
    assert unlabelled.subject == "file" and unlabelled.key == "cam_b/frame_0002.jpg"
    assert unlabelled.source_uri == sample.files["cam_b/frame_0002.jpg"].source_uri
    assert _align_case(sample, "unlabelled_image").unlabelled == ("cam_b/frame_0002.jpg",)

    (duplicate,) = _align_case(sample, "duplicate_annotation_id").problems
    assert duplicate.detail == (
        "annotation 5 (annotations[12]): id already used by annotations[4]; not imported"
    )
    rows = _align_case(sample, "duplicate_annotation_id").rows
    first = next(r for r in rows if r["annotation_id"] == duplicate.annotation_id)
    assert first["bbox"] != {"x": 1.0, "y": 1.0, "w": 30.0, "h": 30.0}  # the first one is kept


def test_several_faults_of_one_annotation_are_one_record(sample):
    labels = parse_coco(sample.clean)
    bad = replace(labels.annotations[0], category_id=42, bbox=BBox(-50, 0, 10, 10))
    alignment = align(
        replace(labels, annotations=(bad, *labels.annotations[1:])), sample.files, "s"
    )
    (problem,) = alignment.problems
    assert problem.reasons == ("unknown_category", "bbox_out_of_bounds") and problem.dropped == 1
    assert alignment.reasons == {"bbox_out_of_bounds": 1, "unknown_category": 1}


def test_corrected_reimport_changes_only_edited_rows(sample):
    before = {
        r["annotation_id"]: r for r in align(parse_coco(sample.clean), sample.files, "s").rows
    }
    corrected = parse_coco(sample.coco / sl.CORRECTED)
    after = {r["annotation_id"]: r for r in align(corrected, sample.files, "s").rows}
    ids = {a.id: a for a in parse_coco(sample.clean).annotations}
    from lakehouse.labels.align import annotation_id

    edited, removed, added = (
        annotation_id("s", "3"),
        annotation_id("s", "5"),
        annotation_id("s", "100"),
    )
    assert set(before) - set(after) == {removed}
    assert set(after) - set(before) == {added}
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert changed == {edited}
    assert before[edited]["content_sha256"] != after[edited]["content_sha256"]
    assert after[edited]["bbox"]["x"] == ids["3"].bbox.x + 2
    assert {k: v for k, v in before[edited].items() if k not in ("bbox", "content_sha256")} == {
        k: v for k, v in after[edited].items() if k not in ("bbox", "content_sha256")
    }


def test_alignment_is_deterministic(sample):
    labels = parse_coco(sample.case("bbox_degenerate"))
    assert align(labels, sample.files, "s") == align(labels, sample.files, "s")


def _one_image_set(file_name: str, box: BBox, width=320, height=240, **image) -> LabelSet:
    img = LabelImage("1", file_name, width, height, **image)
    ann = LabelAnnotation("1", "1", 1, box, {}, "annotations[0]", "labels.json")
    return LabelSet("coco", "labels.json", (img,), {1: "a"}, (ann,))


FACTS = FileFacts("f" * 64, 320, 240)


@pytest.mark.parametrize(
    ("box", "reasons"),
    [
        (BBox(0, 0, 320, 240), {}),
        (BBox(-1, 0, 321, 240.5), {}),  # within the 1 px default tolerance
        (BBox(0, 0, 321.5, 10), {"bbox_out_of_bounds": 1}),
        (BBox(400, 300, 10, 10), {"bbox_out_of_bounds": 1}),
        (BBox(10, 10, 0, 5), {"bbox_degenerate": 1}),
        (BBox(10, 10, 5, -1), {"bbox_degenerate": 1}),
    ],
)
def test_box_checks(box, reasons):
    alignment = align(_one_image_set("a.jpg", box), {"a.jpg": FACTS}, "s")
    assert alignment.reasons == reasons


def test_tolerance_zero_flags_any_overrun():
    labels = _one_image_set("a.jpg", BBox(0, 0, 320.25, 10))
    policy = LabelPolicy(bbox_tolerance=0)
    assert align(labels, {"a.jpg": FACTS}, "s", policy).reasons == {"bbox_out_of_bounds": 1}


@pytest.mark.parametrize(
    ("box", "clipped"),
    [
        (BBox(300, -10, 50, 40), {"x": 300.0, "y": 0.0, "w": 20.0, "h": 30.0}),
        (BBox(400, 300, 10, 10), None),  # nothing of it is inside: dropped
    ],
)
def test_clip_policy(box, clipped):
    policy = LabelPolicy(out_of_bounds="clip")
    alignment = align(_one_image_set("a.jpg", box), {"a.jpg": FACTS}, "s", policy)
    (problem,) = alignment.problems
    assert problem.reasons == ("bbox_out_of_bounds",)
    assert [r["bbox"] for r in alignment.rows] == ([clipped] if clipped else [])
    assert problem.dropped == (0 if clipped else 1)
    assert problem.detail.endswith("imported clipped" if clipped else "not imported")


def test_exif_rotated_images_accept_the_rotated_size():
    rotated = FileFacts("f" * 64, 320, 240, exif_orientation=6)
    labels = _one_image_set("a.jpg", BBox(0, 0, 240, 320), width=240, height=320)
    alignment = align(labels, {"a.jpg": rotated}, "s")
    assert alignment.reasons == {} and len(alignment.rows) == 1
    upright = replace(rotated, exif_orientation=1)
    assert align(labels, {"a.jpg": upright}, "s").reasons == {
        "image_size_mismatch": 1,
        "bbox_out_of_bounds": 1,  # checked against the real 320x240
    }


def test_undeclared_size_is_not_a_mismatch():
    labels = _one_image_set("a.jpg", BBox(0, 0, 10, 10), width=None, height=None)
    assert align(labels, {"a.jpg": FACTS}, "s").reasons == {}


@pytest.mark.parametrize(
    "name",
    ["a.jpg", "./a.jpg", "x/../a.jpg", ".\\a.jpg"],
)
def test_path_normalisation(name):
    alignment = align(_one_image_set(name, BBox(0, 0, 1, 1)), {"a.jpg": FACTS}, "s")
    assert alignment.stats["matched_by_path"] == 1 and alignment.reasons == {}


@pytest.mark.parametrize("name", ["/a.jpg", "../a.jpg", "C:/a.jpg"])
def test_paths_outside_the_root_never_match(name):
    alignment = align(_one_image_set(name, BBox(0, 0, 1, 1)), {"a.jpg": FACTS}, "s")
    assert alignment.reasons == {"missing_file": 1, "unlabelled_image": 1}


def test_hash_matching(sample):
    alignment = _align_case(sample, "matched_by_hash")
    assert alignment.stats == {
        "matched_by_path": 5,
        "matched_by_hash": 1,
        "images": 6,
        "annotations_read": 12,
        "annotations_dropped": 0,
    }
    clean = align(parse_coco(sample.clean), sample.files, "coco:train")
    assert alignment.rows == clean.rows  # same bytes, same rows, whatever the name

    # an asset already in the dataset, not under this root: found through by_hash
    elsewhere = FileFacts("e" * 64, 320, 240)
    labels = _one_image_set(f"{'e' * 64}.jpg", BBox(0, 0, 5, 5))
    assert align(labels, {}, "s").reasons == {"missing_file": 1}
    found = align(labels, {}, "s", by_hash={"e" * 64: elsewhere})
    assert found.reasons == {} and found.rows[0]["asset_id"] == "e" * 64


def test_path_wins_over_a_declared_hash():
    labels = _one_image_set("a.jpg", BBox(0, 0, 5, 5), sha256="e" * 64)
    other = FileFacts("e" * 64, 320, 240)
    alignment = align(labels, {"a.jpg": FACTS}, "s", by_hash={"e" * 64: other})
    assert alignment.rows[0]["asset_id"] == FACTS.asset_id


def test_copies_count_once_for_unlabelled(sample):
    """backup/frame_0000.jpg holds the bytes of a labelled image: it is not unlabelled."""
    alignment = align(parse_coco(sample.clean), sample.files, "s")
    assert "backup/frame_0000.jpg" in sample.files and alignment.unlabelled == ()
    data = sl.coco_clean()
    data["images"][0]["file_name"] = "backup/frame_0000.jpg"  # labelled through the copy
    path = sl.write_coco(sample.root.parent / "train_copy.json", data)
    copy_alignment = align(parse_coco(path), sample.files, "s")
    assert copy_alignment.reasons == {} and copy_alignment.rows == alignment.rows


def test_empty_images(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 320, "height": 240}],
        "annotations": [],
        "categories": [{"id": 1, "name": "a"}],
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    labels, files = parse_coco(path), {"a.jpg": FACTS}
    assert align(labels, files, "s").reasons == {}  # a deliberate negative
    strict = LabelPolicy(allow_empty_images=False, missing_label="error")
    alignment = align(labels, files, "s", strict)
    assert alignment.reasons == {"unlabelled_image": 1} and alignment.unlabelled == ("a.jpg",)
    assert align(labels, files, "s", LabelPolicy(allow_empty_categories=False)).reasons == {
        "empty_category": 1
    }


def test_image_prefix_and_scope(sample):
    data = sl.coco_clean()
    for image in data["images"]:
        image["file_name"] = image["file_name"].split("/", 1)[1] if image["id"] <= 3 else "x"
    data["images"] = data["images"][:3]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] <= 3]
    path = sl.write_coco(sample.root.parent / "train_prefix.json", data)
    labels = parse_coco(path)
    assert guess_image_prefix(labels, sample.files) == "cam_a"
    alignment = align(labels, sample.files, "s", image_prefix="cam_a")
    assert alignment.reasons == {} and len(alignment.rows) == 6  # cam_b is out of scope
    unscoped = align(labels, sample.files, "s")
    assert unscoped.reasons == {"missing_file": 3, "unlabelled_image": 6}


def test_guess_image_prefix_prefers_the_root_on_ties():
    labels = _one_image_set("a.jpg", BBox(0, 0, 1, 1))
    assert guess_image_prefix(labels, {"a.jpg", "x/a.jpg"}) == ""
    assert guess_image_prefix(labels, {"b/a.jpg", "x/a.jpg"}) == "b"
    assert guess_image_prefix(labels, {"b.jpg"}) == ""


def test_tables_for_annotations_and_quarantine(sample):
    alignment = _align_case(sample, "bbox_degenerate")
    annotations = annotation_table(alignment, "ingest-1", AT)
    assert annotations.schema == ANNOTATIONS_SCHEMA.as_arrow()
    assert annotations.num_rows == len(alignment.rows)
    assert annotations.column("ingest_id").to_pylist() == ["ingest-1"] * annotations.num_rows

    quarantine = quarantine_table(alignment, "ingest-1", "default@abc", AT)
    assert quarantine.schema == QUARANTINE_SCHEMA.as_arrow()
    rows = quarantine.to_pylist()
    assert [r["reasons"] for r in rows] == [["bbox_degenerate"], ["bbox_degenerate"]]
    for row in rows:
        assert row["category"] == "label" and row["status"] == "open"
        assert row["media_type"] == "application/json" and row["policy"] == "default@abc"
        content = json.loads(row["content"])
        assert content["label_source"] == "coco:train" and "annotation" in content
        import hashlib

        assert row["sha256"] == hashlib.sha256(row["content"]).hexdigest()
        assert row["byte_size"] == len(row["content"])
        assert row["sha256"] not in sample.hashes.values()
    again = quarantine_table(_align_case(sample, "bbox_degenerate"), "ingest-2", "p", AT)
    assert again.column("quarantine_id") == quarantine.column("quarantine_id")
    assert len(set(quarantine.column("quarantine_id").to_pylist())) == 2
    empty = annotation_table(_align_case(sample, "missing_file"), "i", AT)
    assert isinstance(empty, pa.Table)


def test_no_annotation_ids_collide_across_images_without_source_ids():
    img = [LabelImage(str(i), f"{i}.jpg", 320, 240) for i in (1, 2)]
    box = BBox(1, 1, 5, 5)
    anns = tuple(
        LabelAnnotation(None, image_id, 1, box, {}, f"{image_id}.txt:{n}", "d")
        for image_id in ("1", "2")
        for n in (1, 2)
    )
    labels = LabelSet("yolo", "d", tuple(img), {1: "a"}, anns)
    files = {"1.jpg": FileFacts("1" * 64, 320, 240), "2.jpg": FileFacts("2" * 64, 320, 240)}
    rows = align(labels, files, "s").rows
    assert len({r["annotation_id"] for r in rows}) == 4
    assert len({r["content_sha256"] for r in rows}) == 2


def test_problem_uris_are_file_uris(sample):
    for problem in _align_case(sample, "orphan_annotation").problems:
        assert problem.source_uri == Path(sample.case("orphan_annotation")).resolve().as_uri()
