"""Facts of a root from ledger rows, refused files named in missing_file, re-import changes."""

from __future__ import annotations

import pytest

from lakehouse import samples_labels as sl
from lakehouse.labels import (
    FileFacts,
    align,
    file_facts,
    label_changes,
    parse_coco,
)


def test_file_facts_from_ledger_rows():
    sources = [
        {
            "rel_path": "a.jpg",
            "source_uri": "file:///r/a.jpg",
            "outcome": "added",
            "asset_id": "a" * 64,
            "detail": None,
        },
        {
            "rel_path": "copy/a.jpg",
            "source_uri": "file:///r/copy/a.jpg",
            "outcome": "duplicate",
            "asset_id": "a" * 64,
            "detail": None,
        },
        {
            "rel_path": "b.jpg",
            "source_uri": "file:///r/b.jpg",
            "outcome": "already_present",
            "asset_id": "b" * 64,
            "detail": None,
        },
        {
            "rel_path": "c.jpg",
            "source_uri": "file:///r/c.jpg",
            "outcome": "quarantined",
            "asset_id": None,
            "detail": "truncated",
        },
        {
            "rel_path": "notes.txt",
            "source_uri": "file:///r/notes.txt",
            "outcome": "skipped",
            "asset_id": None,
            "detail": "not_media",
        },
    ]
    assets = {
        "a" * 64: {"width": 320, "height": 240, "exif_orientation": None},
        "b" * 64: {"width": 100, "height": 50, "exif_orientation": 6},
    }
    files, not_ingested = file_facts(sources, assets)
    assert files == {
        "a.jpg": FileFacts("a" * 64, 320, 240, "file:///r/a.jpg"),
        "copy/a.jpg": FileFacts("a" * 64, 320, 240, "file:///r/copy/a.jpg"),
        "b.jpg": FileFacts("b" * 64, 100, 50, "file:///r/b.jpg", 6),
    }
    assert not_ingested == {"c.jpg": "quarantined: truncated", "notes.txt": "skipped: not_media"}
    with pytest.raises(LookupError, match="is not among the assets"):
        file_facts(sources, {})


def test_missing_file_says_when_the_file_was_refused(tmp_path):
    sample = sl.write_labelled_folder(tmp_path)
    files = dict(sample.files)
    del files["cam_a/frame_0001.jpg"]
    labels = parse_coco(sample.clean)
    refused = {"cam_a/frame_0001.jpg": "quarantined: truncated"}
    alignment = align(labels, files, "s", not_ingested=refused)
    assert alignment.reasons == {"missing_file": 1}
    (problem,) = alignment.problems
    assert problem.detail == (
        "image 2 'cam_a/frame_0001.jpg': no ingested file at 'cam_a/frame_0001.jpg' "
        "(cam_a/frame_0001.jpg is there but was not ingested: quarantined: truncated); "
        "2 annotation(s) not imported"
    )


def test_label_changes_of_a_corrected_reimport(tmp_path):
    sample = sl.write_labelled_folder(tmp_path)
    before = align(parse_coco(sample.clean), sample.files, "s")
    after = align(parse_coco(sample.coco / sl.CORRECTED), sample.files, "s")
    stored = {r["annotation_id"]: r["content_sha256"] for r in before.rows}
    changes = label_changes(stored, after)
    assert changes.to_dict() == {"unchanged": 10, "edited": 1, "added": 1, "removed": 1}
    assert label_changes(stored, before).to_dict() == {
        "unchanged": 12,
        "edited": 0,
        "added": 0,
        "removed": 0,
    }
    appended = changes.rows_to_append(after)
    assert [r["annotation_id"] for r in appended] == [*changes.edited, *changes.added]
    kept = set(stored) - set(changes.to_delete)
    assert kept | {r["annotation_id"] for r in appended} == {r["annotation_id"] for r in after.rows}
