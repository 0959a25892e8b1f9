"""YOLO directories: exact normalised -> pixel conversion, class lists, image matching, and
whole-directory refusal of a malformed line."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse import samples_labels as sl
from lakehouse.labels import (
    BBox,
    FileFacts,
    LabelFileError,
    align,
    image_sizes,
    load_labels,
    parse_coco,
    parse_yolo,
    yolo_image_prefix,
)


def _tree(base: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return base


SIZES = {"img/a.jpg": (320, 240), "img/b.png": (200, 100)}


def test_normalised_boxes_become_exact_pixel_boxes(tmp_path):
    labels_dir = _tree(
        tmp_path / "labels",
        {
            "classes.txt": "person\ncar\n\n",
            "a.txt": "1 0.5 0.5 0.25 0.5\n\n0 0.125 0.25 0.25 0.5 0.875\n",
            "b.txt": "0 0.25 0.5 0.1 0.2 0.2 0.8 0.4 0.5\n",
        },
    )
    labels = parse_yolo(labels_dir, SIZES, "img")
    assert labels.format == "yolo" and labels.categories == {0: "person", 1: "car"}
    assert [(i.id, i.file_name, i.width, i.height) for i in labels.images] == [
        ("img/a.jpg", "img/a.jpg", 320, 240),
        ("img/b.png", "img/b.png", 200, 100),
    ]
    a1, a2, b1 = labels.annotations
    assert (a1.category_id, a1.bbox, a1.attrs, a1.position) == (
        1,
        BBox(120, 60, 80, 120),
        {},
        "a.txt:1",
    )
    assert (a2.bbox, a2.attrs, a2.position) == (
        BBox(0, 0, 80, 120),
        {"confidence": "0.875"},
        "a.txt:3",
    )
    # polygon (0.25,0.5) (0.1,0.2) (0.2,0.8) (0.4,0.5) on 200x100: its extent, and the polygon
    assert b1.bbox == BBox(20.0, 20.0, 60.0, 60.0)
    assert b1.attrs == {"segmentation": "[[50,50,20,20,40,80,80,50]]"}
    assert all(a.id is None for a in labels.annotations)


def test_sample_yolo_dir_gives_the_coco_boxes(tmp_path):
    sample = sl.write_labelled_folder(tmp_path)
    yolo = align(parse_yolo(sample.yolo, image_sizes(sample.files)), sample.files, "yolo")
    coco = align(parse_coco(sample.clean), sample.files, "coco")
    assert yolo.reasons == {} and len(yolo.rows) == len(coco.rows) == sl.CLEAN_ROWS
    for y, c in zip(yolo.rows, coco.rows, strict=True):
        assert y["asset_id"] == c["asset_id"] and y["category"] == c["category"]
        assert y["category_id"] == c["category_id"] - 1
        assert y["bbox"] == pytest.approx(c["bbox"], abs=1e-9)
        assert y["split"] is None and y["attrs"] == {}
    assert load_labels(sample.yolo, sample.files, sample.root) == parse_yolo(
        sample.yolo, image_sizes(sample.files)
    )


@pytest.mark.parametrize(
    ("files", "classes"),
    [
        ({"data.yaml": "names: [cat, dog]\n"}, {0: "cat", 1: "dog"}),
        ({"data.yaml": "names:\n  0: cat\n  3: dog\n"}, {0: "cat", 3: "dog"}),
        ({"../dataset.yaml": "path: .\nnames: [cat]\n"}, {0: "cat"}),
        ({"classes.txt": "a\nb\n", "data.yaml": "names: [cat]\n"}, {0: "a", 1: "b"}),
    ],
)
def test_class_lists(tmp_path, files, classes):
    labels_dir = tmp_path / "ds" / "labels"
    labels_dir.mkdir(parents=True)
    _tree(labels_dir, files)
    labels = parse_yolo(labels_dir, {})
    assert labels.categories == classes and labels.categories_declared


def test_without_class_list_any_class_is_accepted_unnamed(tmp_path):
    labels_dir = _tree(tmp_path / "labels", {"a.txt": "7 0.5 0.5 0.5 0.5\n"})
    labels = parse_yolo(labels_dir, {"a.jpg": (10, 10)})
    assert not labels.categories_declared
    files = {"a.jpg": FileFacts("a" * 64, 10, 10)}
    alignment = align(labels, files, "s")
    assert alignment.reasons == {}
    assert (alignment.rows[0]["category"], alignment.rows[0]["category_id"]) == (None, 7)


def test_unknown_class_and_out_of_range_boxes(tmp_path):
    labels_dir = _tree(
        tmp_path / "labels",
        {"classes.txt": "a\n", "a.txt": "3 0.5 0.5 0.1 0.1\n0 0.95 0.5 0.2 0.2\n0 .5 .5 0 .1\n"},
    )
    files = {"a.jpg": FileFacts("a" * 64, 100, 100)}
    alignment = align(parse_yolo(labels_dir, image_sizes(files)), files, "s")
    assert alignment.reasons == {
        "bbox_out_of_bounds": 1,
        "bbox_degenerate": 1,
        "unknown_category": 1,
    }
    assert [p.key for p in alignment.problems] == ["a.txt:1", "a.txt:2", "a.txt:3"]
    assert alignment.problems[0].source_uri == (labels_dir / "a.txt").resolve().as_uri()
    assert len(alignment.rows) == 1


def test_missing_images_and_negatives(tmp_path):
    labels_dir = _tree(
        tmp_path / "labels",
        {
            "classes.txt": "a\n",
            "a.txt": "0 0.5 0.5 0.1 0.1\n",
            "gone.txt": "0 0.5 0.5 0.1 0.1\n",
            "empty.txt": "",
        },
    )
    files = {
        "a.jpg": FileFacts("a" * 64, 100, 100),
        "empty.jpg": FileFacts("b" * 64, 100, 100),
        "nolabel.jpg": FileFacts("c" * 64, 100, 100),
    }
    alignment = align(parse_yolo(labels_dir, image_sizes(files)), files, "s")
    assert alignment.reasons == {"missing_file": 1, "unlabelled_image": 1}
    assert alignment.unlabelled == ("nolabel.jpg",)  # empty.txt is an explicit negative
    (missing,) = alignment.problems
    assert missing.source_uri == (labels_dir / "gone.txt").resolve().as_uri()
    assert missing.detail == (
        "labels 'gone.txt': no ingested image gone.*; 1 annotation(s) not imported"
    )


def test_rotated_images_use_the_display_size(tmp_path):
    labels_dir = _tree(tmp_path / "labels", {"a.txt": "0 0.5 0.5 1 1\n"})
    files = {"a.jpg": FileFacts("a" * 64, 320, 240, exif_orientation=6)}
    alignment = align(parse_yolo(labels_dir, image_sizes(files)), files, "s")
    assert alignment.reasons == {}
    assert alignment.rows[0]["bbox"] == {"x": 0.0, "y": 0.0, "w": 240.0, "h": 320.0}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 0.5 0.5 0.1\n", "a.txt:1: expected 'class cx cy w h'"),
        ("0 0.5 0.5 0.1 0.1 0.1 0.1 0.1\n", "got 8 values"),
        ("car 0.5 0.5 0.1 0.1\n", "a.txt:1: class 'car' is not an integer"),
        ("\n0 0.5 nan 0.1 0.1\n", "a.txt:2: 'nan' is not a finite number"),
        ("0 0.5 x 0.1 0.1\n", "'x' is not a finite number"),
    ],
)
def test_a_malformed_line_refuses_the_whole_directory(tmp_path, line, message):
    labels_dir = _tree(tmp_path / "labels", {"0_good.txt": "0 0.5 0.5 0.1 0.1\n", "a.txt": line})
    with pytest.raises(LabelFileError) as caught:
        parse_yolo(labels_dir, {})
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(labels_dir / "a.txt"))


def test_bad_class_files(tmp_path):
    bad_txt = _tree(tmp_path / "one", {"classes.txt": "a\n\nb\n"})
    with pytest.raises(LabelFileError, match=r"classes.txt:2: empty class name"):
        parse_yolo(bad_txt, {})
    bad_yaml = _tree(tmp_path / "two", {"data.yaml": "names: [a, b\n"})
    with pytest.raises(LabelFileError, match=r"data.yaml:2:1: not valid YAML"):
        parse_yolo(bad_yaml, {})
    no_names = _tree(tmp_path / "three", {"data.yaml": "nc: 2\n"})
    with pytest.raises(LabelFileError, match="'names' must be a list"):
        parse_yolo(no_names, {})
    with pytest.raises(LabelFileError, match="not a directory of YOLO label files"):
        parse_yolo(tmp_path / "absent", {})


def test_hidden_files_symlinks_and_splits(tmp_path):
    labels_dir = _tree(
        tmp_path / "labels",
        {
            "train/a.txt": "0 0.5 0.5 0.1 0.1\n",
            "valid/test_b.txt": "0 0.5 0.5 0.1 0.1\n",
            ".cache/c.txt": "garbage\n",
            "._a.txt": "garbage\n",
            "notes.md": "garbage\n",
        },
    )
    (labels_dir / "link.txt").symlink_to(labels_dir / "notes.md")
    labels = parse_yolo(labels_dir, {"train/a.jpg": (10, 10), "valid/test_b.jpg": (10, 10)})
    assert [(i.id, i.split) for i in labels.images] == [
        ("train/a.jpg", "train"),
        ("valid/test_b.jpg", "val"),
    ]


def test_two_images_with_one_stem_share_the_labels(tmp_path):
    labels_dir = _tree(tmp_path / "labels", {"a.txt": "0 0.5 0.5 0.5 0.5\n"})
    labels = parse_yolo(labels_dir, {"a.jpg": (10, 10), "a.png": (20, 20)})
    assert [a.bbox for a in labels.annotations] == [BBox(2.5, 2.5, 5, 5), BBox(5, 5, 10, 10)]


@pytest.mark.parametrize(
    ("labels_dir", "prefix"),
    [
        ("root/labels", "images"),
        ("root/labels/train", "images/train"),
        ("root/ds/labels/val", "ds/images/val"),
        ("root/frames", "frames"),
        ("root", ""),
        ("elsewhere/labels", ""),
    ],
)
def test_yolo_image_prefix(tmp_path, labels_dir, prefix):
    assert yolo_image_prefix(tmp_path / labels_dir, tmp_path / "root") == prefix


def test_labels_inside_the_root_follow_the_images_convention(tmp_path):
    root = tmp_path / "root"
    _tree(root, {"labels/train/a.txt": "0 0.5 0.5 0.5 0.5\n", "labels/classes.txt": "a\n"})
    files = {
        "images/train/a.jpg": FileFacts("a" * 64, 10, 10),
        "images/val/b.jpg": FileFacts("b" * 64, 10, 10),
    }
    labels = load_labels(root / "labels", files, root)
    alignment = align(labels, files, "s")
    assert alignment.reasons == {"unlabelled_image": 1}  # images/val/b.jpg: in scope, no labels
    scoped = load_labels(root / "labels" / "train", files, root)
    assert scoped.scope == "images/train"
    assert align(scoped, files, "s").reasons == {}  # images/val is outside labels/train's scope
