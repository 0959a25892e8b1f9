"""`export_version` on a real catalog: exact bytes and manifests, idempotent, never overwrites."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lakehouse.errors import LakehouseError, UsageError
from lakehouse.export import MANIFEST_LINES, MANIFEST_SUMMARY, export_version
from tests.test_verify import Ingested, damaged, flip_inside, ingest_two_drops, local_path, locate

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
}


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Ingested:
    return ingest_two_drops(tmp_path_factory.mktemp("export"))


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_export_writes_the_original_bytes_and_exact_manifests(street, tmp_path):
    progress: list[int] = []
    report = export_version(
        street.lake.catalog, street.second, tmp_path / "out", on_progress=progress.append
    )

    exported = files_under(tmp_path / "out")
    lines = [json.loads(line) for line in exported.pop(MANIFEST_LINES).decode().splitlines()]
    summary = json.loads(exported.pop(MANIFEST_SUMMARY))
    rows = street.lake.sql(
        "SELECT asset_id, media_type, source_uri, width, height FROM assets", "street"
    ).to_dicts()
    assert {line["asset_id"]: line for line in lines} == {
        row["asset_id"]: {
            **row,
            "file": f"{row['asset_id'][:2]}/{row['asset_id']}{EXTENSIONS[row['media_type']]}",
            "sha256": row["asset_id"],
            "byte_size": len(street.originals[row["asset_id"]]),
        }
        for row in rows
    }
    assert exported == {line["file"]: street.originals[line["asset_id"]] for line in lines}
    assert all(
        hashlib.sha256(exported[line["file"]]).hexdigest() == line["sha256"] for line in lines
    )
    assert summary == {
        "dataset": "street",
        "version_id": street.second.version_id,
        "fingerprint": street.second.properties["fingerprint"],
        "snapshots": dict(street.second.snapshots),
        "asset_count": len(street.originals),
        "created_at": street.second.created_at.isoformat(),
    }
    assert (report.files, report.written, sum(progress)) == (len(street.originals),) * 3
    assert report.bytes == sum(len(d) for d in street.originals.values())
    assert report.manifest == str(tmp_path / "out" / MANIFEST_LINES)


def test_rerunning_an_export_changes_nothing(street, tmp_path):
    export_version(street.lake.catalog, street.second, tmp_path)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    contents = files_under(tmp_path)

    again = export_version(street.lake.catalog, street.second, tmp_path)

    assert (again.files, again.written) == (len(street.originals), 0)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before  # no temp files
    assert files_under(tmp_path) == contents


def test_a_different_file_in_place_is_an_error_and_is_left_alone(street, tmp_path):
    asset_id = min(street.extra_ids)
    squatter = tmp_path / asset_id[:2] / f"{asset_id}.jpg"
    squatter.parent.mkdir()
    squatter.write_bytes(b"not the asset")

    with pytest.raises(UsageError, match=str(squatter)):
        export_version(street.lake.catalog, street.second, tmp_path)

    assert squatter.read_bytes() == b"not the asset"
    assert not (tmp_path / MANIFEST_LINES).exists()
    assert not (tmp_path / MANIFEST_SUMMARY).exists()
    assert not list(tmp_path.rglob(".*.part"))


def test_another_versions_export_is_refused_before_anything_is_written(street, tmp_path):
    export_version(street.lake.catalog, street.first, tmp_path)
    contents = files_under(tmp_path)

    with pytest.raises(UsageError, match="holds another export"):
        export_version(street.lake.catalog, street.second, tmp_path)

    assert files_under(tmp_path) == contents


def test_an_older_version_exports_only_its_own_assets(street, tmp_path):
    older = street.lake.resolve("street", version_id=street.first.version_id)
    report = export_version(street.lake.catalog, older, tmp_path)

    lines = (tmp_path / MANIFEST_LINES).read_text().splitlines()
    exported = {json.loads(line)["asset_id"] for line in lines}
    assert exported == set(street.originals) - street.extra_ids
    assert (
        report.files
        == len(exported)
        == json.loads((tmp_path / MANIFEST_SUMMARY).read_text())["asset_count"]
    )
    assert {p.stem for p in tmp_path.glob("*/*")} == exported


def test_corrupt_stored_bytes_are_refused_naming_the_asset(street, tmp_path):
    asset_id = min(street.extra_ids)
    data_file, row = locate(street.lake, street.second, asset_id)

    with (
        damaged(local_path(data_file), flip_inside(street.originals[asset_id])),
        pytest.raises(LakehouseError, match=f"asset {asset_id} .*row {row}.* corrupt"),
    ):
        export_version(street.lake.catalog, street.second, tmp_path)

    assert not list(tmp_path.rglob(f"{asset_id}*"))
