"""Hugging Face `datasets`: a version out with its bytes and labels, and back in through ingest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import datasets
import pytest

from lakehouse.samples import make_jpeg, random_bytes, truncated_jpeg
from lakehouse.training import export_hf, from_hf_dataset, import_hf, last_served, to_hf_dataset
from lakehouse.training.hf_export import PROVENANCE_FILE
from lakehouse.training.hf_import import stage
from tests.training import SIZE, Street, build_street


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Street:
    return build_street(tmp_path_factory.mktemp("street"))


def _raw(hf: datasets.Dataset) -> datasets.Dataset:
    return hf.cast_column("image", datasets.Image(decode=False))


def test_a_version_becomes_an_hf_dataset_of_original_bytes_and_labels(street: Street) -> None:
    hf = to_hf_dataset("street", lake=street.lake, ref="v2")
    assert isinstance(hf.features["image"], datasets.Image)
    assert last_served().loader == "huggingface"
    rows = _raw(hf).to_list()
    assert {r["asset_id"] for r in rows} == street.all_ids
    for row in rows:
        assert hashlib.sha256(row["image"]["bytes"]).hexdigest() == row["asset_id"]
        assert row["annotations"] == street.labels[row["asset_id"]]
        assert (row["width"], row["height"]) == SIZE
    assert hf[0]["image"].size == SIZE  # decoded by datasets on access
    cached = hf.cache_files[0]["filename"]
    again = to_hf_dataset("street", lake=street.lake, ref="v2")
    assert again.cache_files[0]["filename"] == cached  # a version never changes: reused
    v1 = to_hf_dataset("street", lake=street.lake, ref="v1", columns=["asset_id", "category"])
    assert set(v1["asset_id"]) == street.v1_ids and "image" not in v1.features


def test_export_then_import_keeps_every_byte_and_label(street: Street, tmp_path: Path) -> None:
    report = export_hf("street", tmp_path / "hf", ref="v2", lake=street.lake)
    assert report.rows == 40
    provenance = json.loads((tmp_path / "hf" / PROVENANCE_FILE).read_text())
    assert provenance["version_id"] == street.lake.resolve("street", ref="v2").version_id
    assert any(e["action"] == "export-hf" for e in street.lake.audit_log("street"))

    imported = import_hf(tmp_path / "hf", "copy", lake=street.lake)
    n_labels = sum(len(v) for v in street.labels.values())
    assert imported.ingest.counts["added"] == imported.rows == 40
    assert imported.labels == n_labels
    copy = _raw(to_hf_dataset("copy", lake=street.lake))
    assert {r["asset_id"] for r in copy.to_list()} == street.all_ids

    def labels(annotations: list[dict]) -> list[tuple]:
        return sorted((a["category"], a["bbox"] or [], a["split"]) for a in annotations)

    for row in copy.to_list():
        assert hashlib.sha256(row["image"]["bytes"]).hexdigest() == row["asset_id"]
        assert labels(row["annotations"]) == labels(street.labels[row["asset_id"]])


def test_staged_coco_names_every_image_by_its_sha256(street: Street, tmp_path: Path) -> None:
    hf = to_hf_dataset("street", lake=street.lake, ref="v2")
    staged = stage(hf, tmp_path / "staged")
    assert staged.labels is not None and staged.rows == 40
    coco = json.loads(staged.labels.read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    sha_of = {image["id"]: image["sha256"] for image in coco["images"]}
    found: dict[str, list] = {a: [] for a in street.all_ids}
    for annotation in coco["annotations"]:
        found[sha_of[annotation["image_id"]]].append(
            (names[annotation["category_id"]], annotation.get("bbox"))
        )
    assert found == {
        a: [(x["category"], x["bbox"]) for x in labels] for a, labels in street.labels.items()
    }
    assert {i["split"] for i in coco["images"]} == {"train", "val"}


def test_corrupt_images_in_an_hf_dataset_end_quarantined_with_reasons(street: Street) -> None:
    images = [
        make_jpeg(900, size=SIZE),
        truncated_jpeg(),
        random_bytes(),
        b"",
        make_jpeg(901, size=SIZE),
    ]
    hf = datasets.Dataset.from_dict(
        {
            "image": [{"bytes": b, "path": None} for b in images],
            "id": ["good-a", "cut", "noise", "empty", "good-b"],
        },
        features=datasets.Features({"image": datasets.Image(), "id": datasets.Value("string")}),
    )
    report = from_hf_dataset(hf, "imported", street.lake)
    assert report.ingest.counts["added"] == 2 and report.ingest.counts["quarantined"] == 3
    ledger = street.lake.sql(
        "SELECT s.rel_path, s.outcome, q.reasons FROM sources s "
        "LEFT JOIN quarantine q ON s.quarantine_id = q.quarantine_id",
        "imported",
    ).to_dicts()
    reasons = {row["rel_path"]: row["reasons"] for row in ledger if row["outcome"] == "quarantined"}
    assert reasons == {
        "00000001_cut.jpg": ["truncated"],
        "00000002_noise.jpg": ["not_an_image"],
        "00000003_empty.jpg": ["empty_file"],
    }
    assert len(ledger) == 5 and report.labels == 0
