"""Expiry keeps what refs and retained versions need, deletes the rest; compaction is lossless."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lakehouse import Lakehouse, Settings
from lakehouse.errors import SnapshotNotFound, VersionExpired
from lakehouse.samples import make_jpeg
from lakehouse.schema import TABLES


def _ingest_one(lake: Lakehouse, tmp_path: Path, seed: int) -> int:
    drop = tmp_path / f"drop{seed}"
    drop.mkdir()
    (drop / f"{seed}.jpg").write_bytes(make_jpeg(seed))
    return lake.ingest([drop], "ds").version_id


def _data_files(home: Path) -> set[Path]:
    return set((home / "warehouse" / "ds").rglob("data/*.parquet"))


def _ids(lake: Lakehouse, **at) -> list[str]:
    return sorted(lake.sql("SELECT asset_id FROM assets", "ds", **at)["asset_id"])


def test_expiry_keeps_tags_and_recent_versions_and_deletes_orphans(lake, tmp_path):
    versions = [_ingest_one(lake, tmp_path, seed) for seed in range(6)]
    first_snapshot = lake.resolve("ds", version_id=versions[0]).snapshots["assets"]
    lake.tag_create("ds", "v-early", str(versions[1]))
    early = _ids(lake, ref="v-early")
    files_before = _data_files(lake.settings.home)

    report = lake.maintain("ds", keep_versions=2, grace_seconds=0, compact=False)

    assert set(report.expired_versions) >= {versions[0], versions[2]}
    assert versions[1] not in report.expired_versions  # tagged
    assert versions[-1] not in report.expired_versions
    with pytest.raises(VersionExpired):
        lake.resolve("ds", version_id=versions[0])
    expired_snapshot = first_snapshot
    with pytest.raises(SnapshotNotFound):  # an expired id is an error, never 0 rows
        lake.sql("SELECT count(*) FROM assets", "ds", snapshot_id=expired_snapshot)
    assert _ids(lake, ref="v-early") == early  # a tag never loses its data
    assert len(_ids(lake)) == 6
    for name in TABLES:
        table = lake.catalog.load_table(f"ds.{name}")
        kept = {s.snapshot_id for s in table.metadata.snapshots}
        assert lake.resolve("ds", ref="v-early").snapshots[name] in kept
        assert len(kept) <= 4  # main + the tag + at most two retained versions
    files_after = _data_files(lake.settings.home)
    assert files_after <= files_before
    # everything still referenced is still on disk; only orphans went away
    from lakehouse.verify import verify_version

    for ref in ("main", "v-early"):
        assert verify_version(lake.catalog, lake.resolve("ds", ref=ref)).ok


def test_gc_deletes_exactly_the_files_no_retained_version_references(lake, tmp_path):
    versions = [_ingest_one(lake, tmp_path, seed) for seed in range(3)]
    lake.tag_create("ds", "v-first", str(versions[0]))
    tagged_files = {
        Path(f.file.file_path.removeprefix("file://"))
        for f in lake.catalog.load_table("ds.assets")
        .scan(snapshot_id=lake.resolve("ds", ref="v-first").snapshots["assets"])
        .plan_files()
    }
    lake.maintain("ds", grace_seconds=0, keep_versions=1)  # compacts main, then expires
    main_files = {
        Path(f.file.file_path.removeprefix("file://"))
        for f in lake.catalog.load_table("ds.assets")
        .scan(snapshot_id=lake.resolve("ds").snapshots["assets"])
        .plan_files()
    }
    on_disk = {p for p in _data_files(lake.settings.home) if "/assets/" in str(p)}
    assert on_disk == tagged_files | main_files  # the 2nd and 3rd small files are gone
    assert len(tagged_files) == 1 and len(main_files) == 1
    assert len(_ids(lake, ref="v-first")) == 1 and len(_ids(lake)) == 3


def test_gc_never_deletes_young_files(lake, tmp_path):
    for seed in range(3):
        _ingest_one(lake, tmp_path, seed)
    report = lake.maintain("ds", keep_versions=1, grace_seconds=3600, compact=False)
    assert report.deleted_files == 0


def test_compaction_rewrites_small_files_without_changing_content(lake, tmp_path):
    for seed in range(5):
        _ingest_one(lake, tmp_path, seed)
    before = lake.resolve("ds")
    ids_before = _ids(lake)
    ledger_before = lake.sql("SELECT * FROM sources ORDER BY source_uri", "ds")

    report = lake.maintain("ds", grace_seconds=0)

    after = lake.resolve("ds")
    assert after.operation == "compact" and after.version_id == report.version_id
    assert report.compacted["assets"] == [5, 1]
    assert report.compacted["sources"] == [5, 1]
    assert _ids(lake) == ids_before
    assert lake.sql("SELECT * FROM sources ORDER BY source_uri", "ds").equals(ledger_before)
    assert after.properties["fingerprint"] == before.properties["fingerprint"]
    diff = lake.diff("ds", str(before.version_id), "main")
    assert diff.added == [] and diff.removed == []


def test_maintenance_runs_by_itself_past_the_snapshot_bound(tmp_path, ray_cluster):
    settings = Settings.embedded(tmp_path / "home")
    settings = dataclasses.replace(
        settings,
        history=dataclasses.replace(
            settings.history, keep_versions=2, auto_expire_snapshots=4, auto_compact_files=3
        ),
    )
    lake = Lakehouse(settings)
    for seed in range(8):
        _ingest_one(lake, tmp_path, seed)
    table = lake.catalog.load_table("ds.assets")
    assert len(table.metadata.snapshots) <= 5
    files = table.scan(snapshot_id=lake.resolve("ds").snapshots["assets"]).plan_files()
    assert len(list(files)) <= 4  # small files were compacted by themselves
    assert len(_ids(lake)) == 8
    assert "compact" in [v.operation for v in lake.log("ds")]
    assert lake.verify("ds").ok
