"""COCO parsing: a clean file gives exact rows; a file that is not JSON or not COCO-shaped is
refused with a one-line error naming the file, and nothing is imported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lakehouse import samples_labels as sl
from lakehouse.errors import LakehouseError
from lakehouse.labels import BBox, LabelFileError, align, load_labels, parse_coco
from lakehouse.labels.align import annotation_content


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> sl.LabelSample:
    return sl.write_labelled_folder(tmp_path_factory.mktemp("labels"))


def _write(tmp_path: Path, data: object, name: str = "labels.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_clean_file_parses_every_record(sample):
    labels = parse_coco(sample.clean)
    assert labels.format == "coco" and labels.path == str(sample.clean)
    assert labels.categories == {1: "person", 2: "car", 3: "dog"}
    assert [(i.id, i.file_name, i.width, i.height, i.split) for i in labels.images] == [
        (str(n), rel, w, h, "train") for n, (rel, _, (w, h)) in enumerate(sl.IMAGES, 1)
    ]
    first = labels.annotations[0]
    raw = sl.coco_clean()["annotations"][0]
    assert (first.id, first.image_id, first.category_id) == ("1", "1", raw["category_id"])
    assert first.bbox == BBox(*map(float, raw["bbox"]))
    assert first.attrs == {"area": str(raw["area"]), "iscrowd": "0"}
    assert first.position == "annotations[0]"


def test_clean_file_gives_exact_rows(sample):
    alignment = align(parse_coco(sample.clean), sample.files, "coco:train")
    assert alignment.problems == () and alignment.reasons == {}
    assert alignment.unlabelled == ()
    clean = sl.coco_clean()
    files = {image["id"]: image["file_name"] for image in clean["images"]}
    names = {c["id"]: c["name"] for c in clean["categories"]}
    expected = []
    for ann in clean["annotations"]:
        asset = sample.hashes[files[ann["image_id"]]]
        x, y, w, h = ann["bbox"]
        content = (
            f'{{"asset_id":"{asset}","attrs":{{"area":"{ann["area"]}","iscrowd":"0"}},'
            f'"bbox":[{x},{y},{w},{h}],"category":"{names[ann["category_id"]]}",'
            f'"category_id":{ann["category_id"]},"split":"train"}}'
        )
        expected.append(
            {
                "annotation_id": hashlib.sha256(
                    json.dumps(["id", "coco:train", str(ann["id"])]).encode()
                ).hexdigest(),
                "asset_id": asset,
                "category": names[ann["category_id"]],
                "category_id": ann["category_id"],
                "bbox": {"x": float(x), "y": float(y), "w": float(w), "h": float(h)},
                "attrs": {"area": str(ann["area"]), "iscrowd": "0"},
                "source": "coco:train",
                "split": "train",
                "content_sha256": hashlib.sha256(content.encode()).hexdigest(),
            }
        )
    assert list(alignment.rows) == expected
    assert alignment.stats["matched_by_path"] == len(sl.IMAGES)


def test_content_digest_ignores_number_spelling():
    args = ("a" * 64, "car", 2, BBox(10.0, 20.0, 30.5, -0.0), {"area": "12"}, None)
    assert annotation_content(*args) == (
        '{"asset_id":"' + "a" * 64 + '","attrs":{"area":"12"},"bbox":[10,20,30.5,0],'
        '"category":"car","category_id":2,"split":null}'
    )


def test_not_json_names_file_line_and_column(sample):
    path = sample.coco / sl.NOT_JSON
    with pytest.raises(LabelFileError) as caught:
        parse_coco(path)
    error = caught.value
    assert isinstance(error, LakehouseError) and isinstance(error, ValueError)
    text = path.read_text()
    assert error.line == text.count("\n") + 1 and error.column is not None
    assert str(error) == (
        f"{path}:{error.line}:{error.column}: "
        "not valid JSON: Expecting value (nothing was imported)"
    )
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", ":1:1: not valid JSON: Expecting value"),
        ('{"images": [}', ":1:13: not valid JSON: Expecting value"),
        ('{\n  "images": [],\n  "annotations": [1,]\n}', ":3:21: not valid JSON"),
        ('{"images": [], "annotations": [{"bbox": [NaN, 1, 2, 3]}]}', "NaN is not valid JSON"),
        ("[]", "not a COCO file: top level is a JSON array, not an object"),
        ('{"annotations": []}', "not a COCO file: no 'images' list"),
        ('{"images": {}}', "'images' must be a list, not a object at images"),
        ('{"images": [1]}', "expected an object, got a number at images[0]"),
        ('{"images": [{"file_name": "a.jpg"}]}', "missing 'id' at images[0]"),
        ('{"images": [{"id": true, "file_name": "a.jpg"}]}', "integer or a non-empty string"),
        ('{"images": [{"id": 1, "file_name": ""}]}', "'file_name' must be a non-empty string"),
        ('{"images": [{"id": 1, "file_name": "a", "width": "640"}]}', "at images[0].width"),
        ('{"images": [], "annotations": [{"id": 1, "category_id": 1}]}', "missing 'image_id'"),
        ('{"images": [], "annotations": [{"image_id": 1}]}', "missing 'category_id'"),
        (
            '{"images": [], "annotations": [{"image_id": 1, "category_id": "car"}]}',
            "'category_id' must be an integer, got 'car' at annotations[0].category_id",
        ),
        (
            '{"images": [], "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 2]}]}',
            "'bbox' must be [x, y, width, height], got [1, 2] at annotations[0].bbox",
        ),
        ('{"images": [], "categories": [{"id": 1}]}', "'name' must be a non-empty string"),
        (
            '{"images": [], "categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}',
            "category id 1 is named both 'a' and 'b' at categories[1]",
        ),
        (
            '{"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}]}',
            "image id 1 is used by two different image records at images[1]",
        ),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(LabelFileError) as caught:
        parse_coco(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert str(caught.value).endswith("(nothing was imported)")


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(LabelFileError, match="cannot read labels file"):
        parse_coco(tmp_path / "absent.json")
    (tmp_path / "latin.json").write_bytes(b'{\xff"images": []}')
    with pytest.raises(LabelFileError, match=r"latin.json: not UTF-8 text \(byte 1\)"):
        parse_coco(tmp_path / "latin.json")
    with pytest.raises(LabelFileError, match="cannot read labels file"):
        parse_coco(tmp_path)  # a directory


def test_all_or_nothing(tmp_path, sample):
    """One malformed record after many good ones: an error, no partial LabelSet, no rows."""
    data = sl.coco_clean()
    data["annotations"][-1]["bbox"] = ["x", 1, 2, 3]
    path = _write(tmp_path, data)
    produced = []
    with pytest.raises(LabelFileError, match=r"at annotations\[11\]\.bbox"):
        produced.append(load_labels(path, sample.files))
    assert produced == []


def test_identical_repeated_records_are_merged(tmp_path):
    image = {"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}
    category = {"id": 1, "name": "a"}
    labels = parse_coco(_write(tmp_path, {"images": [image, image], "categories": [category] * 2}))
    assert len(labels.images) == 1 and labels.categories == {1: "a"}
    assert labels.annotations == ()


def test_string_ids_missing_ids_and_extra_attributes(tmp_path):
    data = {
        "images": [{"id": "img-1", "file_name": ".\\cam\\a.jpg", "split": "validation"}],
        "annotations": [
            {
                "image_id": "img-1",
                "category_id": 1.0,
                "bbox": [1, 2.5, 3, 4],
                "score": 0.25,
                "attributes": {"occluded": False},
                "segmentation": [[1, 2, 3, 4.0, 5, 6]],
            }
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    labels = parse_coco(_write(tmp_path, data, "export.json"))
    image, ann = labels.images[0], labels.annotations[0]
    assert (image.id, image.file_name, image.width, image.split) == (
        "img-1",
        "./cam/a.jpg",
        None,
        "val",
    )
    assert (ann.id, ann.image_id, ann.category_id) == (None, "img-1", 1)
    assert ann.attrs == {
        "attributes": '{"occluded":false}',
        "score": "0.25",
        "segmentation": "[[1,2,3,4,5,6]]",
    }


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("instances_train2017.json", "train"),
        ("instances_val2017.json", "val"),
        ("image_info_test-dev2017.json", "test"),
        ("labels.json", None),
        ("contest.json", None),
    ],
)
def test_split_is_inferred_from_the_file_name(tmp_path, name, split):
    path = _write(tmp_path, {"images": [{"id": 1, "file_name": "a.jpg"}]}, name)
    assert parse_coco(path).images[0].split == split
    assert parse_coco(path, split="test").images[0].split == "test"


def test_declared_hashes(tmp_path):
    sha = "AB" * 32
    data = {
        "images": [
            {"id": 1, "file_name": f"ab/{sha}.jpg"},
            {"id": 2, "file_name": "b.jpg", "sha256": "cd" * 32},
            {"id": 3, "file_name": "c.jpg", "asset_id": "ef" * 32},
            {"id": 4, "file_name": "d.jpg", "sha256": "not-a-hash"},
        ]
    }
    labels = parse_coco(_write(tmp_path, data))
    assert [i.sha256 for i in labels.images] == ["ab" * 32, "cd" * 32, "ef" * 32, None]
