"""End-to-end ingest on a real catalog and real Ray, with real photos from wheels."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from lakehouse import Lakehouse
from lakehouse.errors import IngestRootError, RefNotFound, UsageError
from lakehouse.samples import make_jpeg


def _ledger(lake: Lakehouse, dataset: str, ingest_id: str, root: Path) -> dict[str, dict]:
    frame = lake.sql(
        f"SELECT rel_path, root, outcome, asset_id, quarantine_id, detail FROM sources "
        f"WHERE ingest_id = '{ingest_id}'",
        dataset,
    )
    assert all(row["root"] == str(root.resolve()) for row in frame.to_dicts())
    return {row["rel_path"]: row for row in frame.to_dicts()}


def test_messy_drop_lands_every_file_in_exactly_its_expected_outcome(lake, messy_drop):
    root, expected = messy_drop
    report = lake.ingest([root], "street", attrs={"sensor": "cam-a"})

    ledger = _ledger(lake, "street", report.ingest_id, root)
    assert report.files == len(expected) == len(ledger)
    assert {rel: row["outcome"] for rel, row in ledger.items()} == {
        rel: outcome for rel, (outcome, _, _) in expected.items()
    }
    for outcome, n in report.counts.items():
        assert n == sum(1 for o, _, _ in expected.values() if o == outcome), outcome

    quarantine = {
        row["quarantine_id"]: row
        for row in lake.sql(
            "SELECT quarantine_id, category, reasons, sha256, status FROM quarantine", "street"
        ).to_dicts()
    }
    for rel, (outcome, category, reasons) in expected.items():
        row = ledger[rel]
        data = (root / rel).read_bytes()
        if outcome in ("added", "duplicate"):
            assert row["asset_id"] == hashlib.sha256(data).hexdigest()
        if outcome == "quarantined":
            entry = quarantine[row["quarantine_id"]]
            assert (entry["category"], set(entry["reasons"])) == (category, set(reasons)), rel
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
            assert entry["status"] == "open"
    n_unique_quarantined = len(
        {ledger[r]["quarantine_id"] for r, e in expected.items() if e[0] == "quarantined"}
    )
    assert len(quarantine) == n_unique_quarantined


def test_assets_hold_exact_bytes_and_metadata(lake, messy_drop):
    root, expected = messy_drop
    report = lake.ingest([root], "street", attrs={"sensor": "cam-a", "weather": "rain"})
    assets = lake.sql("SELECT * FROM assets", "street").to_dicts()
    added = [rel for rel, (o, _, _) in expected.items() if o == "added"]
    assert len(assets) == len(added) == report.counts["added"]
    by_id = {a["asset_id"]: a for a in assets}
    for rel in added:
        data = (root / rel).read_bytes()
        asset = by_id[hashlib.sha256(data).hexdigest()]
        assert asset["content"] == data
        assert asset["byte_size"] == len(data)
        assert asset["kind"] == "image" and asset["ingest_id"] == report.ingest_id
        assert asset["width"] > 0 and asset["height"] > 0
        assert asset["channels"] == 3 and asset["bit_depth"] == 8
        assert asset["phash"] is not None
        assert asset["attrs"] == {"sensor": "cam-a", "weather": "rain"}
        assert asset["source_uri"] == (root / rel).resolve().as_uri()
    jpeg = next(a for a in assets if a["format"] == "jpeg")
    assert jpeg["media_type"] == "image/jpeg"


def test_commits_explain_themselves_in_snapshot_properties(lake, messy_drop):
    root, _ = messy_drop
    report = lake.ingest([root], "street")
    table = lake.catalog.load_table("street.assets")
    summary = table.snapshot_by_id(report.snapshots["assets"]).summary
    props = summary.additional_properties
    assert props["lakehouse.ingest_id"] == report.ingest_id
    assert json.loads(props["lakehouse.roots"]) == [str(root.resolve())]
    assert props["lakehouse.policy"].startswith("default@")
    assert props["lakehouse.tool_version"]
    # `main` moved only by publish: the Iceberg main ref follows the published version
    assert table.metadata.refs["main"].snapshot_id == report.snapshots["assets"]
    assert not [r for r in table.metadata.refs if r.startswith("lakehouse-ingest-")]


def test_reingest_adds_nothing_and_decodes_nothing(lake, messy_drop):
    root, expected = messy_drop
    first = lake.ingest([root], "street")
    before = lake.sql("SELECT count(*) AS n FROM assets", "street").item()
    second = lake.ingest([root], "street")

    assert second.decoded == 0
    assert second.counts["added"] == second.counts["duplicate"] == 0
    assert second.counts["already_present"] == first.counts["added"] + first.counts["duplicate"]
    assert second.counts["quarantined"] == first.counts["quarantined"]
    assert second.counts["skipped"] == first.counts["skipped"]
    assert lake.sql("SELECT count(*) AS n FROM assets", "street").item() == before
    assert second.snapshots["assets"] == first.snapshots["assets"]
    assert second.snapshots["quarantine"] == first.snapshots["quarantine"]
    ledger = lake.sql("SELECT ingest_id, count(*) AS n FROM sources GROUP BY 1", "street")
    assert sorted(ledger["n"].to_list()) == [len(expected), len(expected)]


def test_duplicates_across_roots_are_stored_once(lake, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "x").mkdir(parents=True)
        (root / "x" / "same.jpg").write_bytes(make_jpeg(7))
    (b / "other.jpg").write_bytes(make_jpeg(8))
    report = lake.ingest([a, b], "ds")
    assert (report.counts["added"], report.counts["duplicate"]) == (2, 1)
    rows = lake.sql("SELECT source_uri, outcome FROM sources ORDER BY source_uri", "ds").rows()
    assert rows == [
        ((a / "x" / "same.jpg").as_uri(), "added"),
        ((b / "other.jpg").as_uri(), "added"),
        ((b / "x" / "same.jpg").as_uri(), "duplicate"),
    ]


def test_symlinks_are_recorded_never_followed(lake, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(make_jpeg(11))
    root = tmp_path / "root"
    (root / "inner").mkdir(parents=True)
    (root / "inner" / "ok.jpg").write_bytes(make_jpeg(12))
    os.symlink(outside / "secret.jpg", root / "link.jpg")
    os.symlink(outside, root / "linkdir")
    os.symlink("../../outside/secret.jpg", root / "inner" / "dotdot.jpg")
    os.symlink(root / "inner" / "ok.jpg", root / "inner" / "inside_link.jpg")
    os.mkfifo(root / "pipe.jpg")

    report = lake.ingest([root], "ds")
    rows = {r["rel_path"]: r for r in lake.sql("SELECT * FROM sources", "ds").to_dicts()}
    assert set(rows) == {
        "inner/ok.jpg",
        "link.jpg",
        "linkdir",
        "inner/dotdot.jpg",
        "inner/inside_link.jpg",
        "pipe.jpg",
    }
    for rel in ("link.jpg", "linkdir", "inner/dotdot.jpg", "inner/inside_link.jpg"):
        assert (rows[rel]["outcome"], rows[rel]["detail"]) == ("skipped", "symlink_not_followed")
    assert rows["pipe.jpg"]["detail"] == "not_a_regular_file"
    secret_id = hashlib.sha256((outside / "secret.jpg").read_bytes()).hexdigest()
    ids = lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list()
    assert secret_id not in ids and len(ids) == 1
    assert report.files == 6


def test_a_loosened_policy_accepts_what_the_default_quarantines(lake, tmp_path):
    from lakehouse.resources import resource
    from lakehouse.samples import grayscale_jpeg

    root = tmp_path / "gray"
    root.mkdir()
    (root / "g.jpg").write_bytes(grayscale_jpeg())
    strict = lake.ingest([root], "ds")
    assert strict.counts["quarantined"] == 1
    assert strict.reasons == {"channels_not_allowed": 1, "color_mode_not_allowed": 1}

    text = (
        resource("quality/policies/default.toml")
        .read_text()
        .replace("channels = [3]", "channels = [1, 3]")
        .replace('color_modes = ["rgb"]', 'color_modes = ["rgb", "gray"]')
    )
    loose = tmp_path / "loose.toml"
    loose.write_text(text.replace('name = "default"', 'name = "loose"'))
    with pytest.raises(UsageError, match="main only takes ingests under its policy"):
        lake.ingest([root], "ds", policy=str(loose))
    lake.branch_create("ds", "gray")
    relaxed = lake.ingest([root], "ds", ref="gray", policy=str(loose))
    assert relaxed.counts["added"] == 1 and relaxed.decoded == 1
    assert lake.sql("SELECT count(*) FROM assets", "ds", ref="gray").item() == 1
    assert lake.sql("SELECT count(*) FROM assets", "ds").item() == 0


def test_file_root_and_bad_roots(lake, tmp_path):
    single = tmp_path / "one.jpg"
    single.write_bytes(make_jpeg(21))
    report = lake.ingest([single], "ds")
    assert report.counts["added"] == 1
    with pytest.raises(IngestRootError):
        lake.ingest([tmp_path / "missing"], "ds")
    with pytest.raises(UsageError):
        lake.ingest([single], "bad name!")
    with pytest.raises(RefNotFound):
        lake.ingest([single], "ds", ref="no-such-branch")
