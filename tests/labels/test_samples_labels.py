"""The label sample factory is deterministic and covers every case it documents."""

from __future__ import annotations

import json

from lakehouse import samples_labels as sl


def _snapshot(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_samples_are_deterministic(tmp_path):
    first = sl.write_labelled_folder(tmp_path / "a")
    second = sl.write_labelled_folder(tmp_path / "b")
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")
    assert first.hashes == second.hashes
    assert sorted(first.files) == sorted([rel for rel, _, _ in sl.IMAGES] + list(sl.COPIES))
    assert len({f.asset_id for f in first.files.values()}) == len(sl.IMAGES)
    names = [case.name for case in sl.LABEL_CASES]
    assert len(names) == len(set(names))
    for case in sl.LABEL_CASES:
        json.loads(first.case(case.name).read_text())
    for rel, _, (width, height) in sl.IMAGES:
        facts = first.files[rel]
        assert (facts.width, facts.height) == (width, height)


def test_clean_boxes_lie_inside_their_images():
    data = sl.coco_clean()
    sizes = {i["id"]: (i["width"], i["height"]) for i in data["images"]}
    assert len(data["annotations"]) == sl.CLEAN_ROWS
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        width, height = sizes[ann["image_id"]]
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= width and y + h <= height
    used = {a["category_id"] for a in data["annotations"]}
    assert used == {c["id"] for c in data["categories"]}  # so only the added one is empty
