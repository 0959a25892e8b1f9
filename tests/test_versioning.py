"""Branches, audited publish, immutable tags, time travel, diff and rollback, end to end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse import Lakehouse
from lakehouse.errors import (
    CommitConflict,
    GateRefused,
    RefExists,
    RefNotFound,
    SnapshotNotFound,
    UsageError,
)
from lakehouse.fingerprint import SetHash, asset_element
from lakehouse.samples import grayscale_jpeg, make_jpeg
from lakehouse.schema import TABLES


def _drop(root: Path, seeds: range, prefix: str = "img") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (root / f"{prefix}_{seed:04d}.jpg").write_bytes(make_jpeg(seed))
    return root


def _ids(lake: Lakehouse, ref: str | None = None, **at) -> set[str]:
    return set(lake.sql("SELECT asset_id FROM assets", "ds", ref=ref, **at)["asset_id"])


def _fingerprint_of(ids: set[str]) -> str:
    return SetHash().add(asset_element(i) for i in ids).digest()


def test_branch_ingest_diff_publish_fast_forward(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(3))], "ds")
    base = _ids(lake)
    lake.branch_create("ds", "nov")
    report = lake.ingest([_drop(tmp_path / "b", range(3, 6))], "ds", ref="nov")
    assert _ids(lake) == base  # main untouched by a branch ingest
    added = _ids(lake, "nov") - base
    assert len(added) == 3

    diff = lake.diff("ds", "main", "nov")
    assert set(diff.added) == added and diff.removed == []
    assert diff.media_types == {"image/jpeg": {"added": 3, "removed": 0}}
    assert diff.ledger == {"added": 3}

    version = lake.publish("ds", "nov", "November drop")
    assert version.operation == "publish" and version.message == "November drop"
    assert version.snapshots == lake.resolve("ds", ref="nov").snapshots  # branch == main
    assert version.properties["verdict"]["passed"] is True
    assert _ids(lake) == base | added
    assert version.properties["fingerprint"] == _fingerprint_of(base | added)
    assert version.properties["asset_count"] == 6
    assert (
        lake.resolve("ds", version_id=report.version_id).snapshots["assets"]
        == version.snapshots["assets"]
    )  # fast-forward: same snapshots, no data rewritten
    table = lake.catalog.load_table("ds.assets")
    assert table.metadata.refs["main"].snapshot_id == version.snapshots["assets"]
    assert table.metadata.refs["nov"].snapshot_id == version.snapshots["assets"]


def test_publish_after_main_moved_reapplies_the_branch(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(2))], "ds")
    lake.branch_create("ds", "one")
    lake.branch_create("ds", "two")
    lake.ingest([_drop(tmp_path / "b", range(2, 5))], "ds", ref="one")
    lake.ingest([_drop(tmp_path / "c", range(4, 8), "c")], "ds", ref="two")  # seed 4 in both
    lake.publish("ds", "one", "first")
    second = lake.publish("ds", "two", "second")

    ids = lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list()
    assert len(ids) == len(set(ids)) == 8
    assert second.properties["fingerprint"] == _fingerprint_of(set(ids))
    ledger = lake.sql("SELECT rel_path, outcome FROM sources WHERE rel_path LIKE 'c_%'", "ds")
    assert dict(ledger.rows()) == {
        "c_0004.jpg": "already_present",
        "c_0005.jpg": "added",
        "c_0006.jpg": "added",
        "c_0007.jpg": "added",
    }
    assert lake.diff("ds", "one", "main").added != []


def test_gate_refuses_policy_failures_then_override_is_recorded(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(1))], "ds")
    gray = tmp_path / "gray"
    gray.mkdir()
    (gray / "g.jpg").write_bytes(grayscale_jpeg())
    loose = tmp_path / "loose.toml"
    text = (Path(__file__).parents[1] / "quality/policies/default.toml").read_text()
    loose.write_text(
        text.replace("channels = [3]", "channels = [1, 3]")
        .replace('color_modes = ["rgb"]', 'color_modes = ["rgb", "gray"]')
        .replace('name = "default"', 'name = "loose"')
    )
    lake.branch_create("ds", "gray")
    lake.ingest([gray], "ds", ref="gray", policy=str(loose))
    before = lake.resolve("ds")

    with pytest.raises(GateRefused) as refused:
        lake.publish("ds", "gray", "grayscale scans")
    assert refused.value.reasons == [
        "1 added asset(s) fail policy 'default': channels_not_allowed",
        "1 added asset(s) fail policy 'default': color_mode_not_allowed",
    ]
    assert lake.resolve("ds").version_id == before.version_id
    denied = [a for a in lake.audit_log("ds") if a["action"] == "publish"]
    assert denied[-1]["outcome"] == "denied"

    version = lake.publish("ds", "gray", "grayscale scans", override="approved by QA (ticket 7)")
    verdict = version.properties["verdict"]
    assert verdict["passed"] is False and verdict["policy"].startswith("default@")
    assert verdict["reasons"] == refused.value.reasons
    assert verdict["override"] == "approved by QA (ticket 7)"
    assert lake.sql("SELECT count(*) FROM assets", "ds").item() == 2


def test_tags_are_immutable_and_exist_in_every_table(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(2))], "ds")
    tag = lake.tag_create("ds", "v1", "main", "training set for M")
    tagged = lake.resolve("ds", ref="v1")
    with pytest.raises(RefExists):
        lake.tag_create("ds", "v1", "main")
    lake.ingest([_drop(tmp_path / "b", range(2, 4))], "ds")
    with pytest.raises(RefExists):
        lake.tag_create("ds", "v1", "main")  # the tag did not move
    assert lake.resolve("ds", ref="v1").version_id == tag.version_id
    for name in TABLES:
        table = lake.catalog.load_table(f"ds.{name}")
        assert table.metadata.refs["v1"].snapshot_id == tagged.snapshots[name]
    assert len(_ids(lake, "v1")) == 2 and len(_ids(lake)) == 4

    with pytest.raises(UsageError, match="needs --force"):
        lake.tag_delete("ds", "v1")
    lake.tag_delete("ds", "v1", force=True)
    with pytest.raises(RefNotFound):
        lake.resolve("ds", ref="v1")
    actions = [(a["action"], a["outcome"]) for a in lake.audit_log("ds")]
    assert ("tag.delete", "denied") in actions and ("tag.delete", "ok") in actions
    with pytest.raises(UsageError):
        lake.tag_create("ds", "lakehouse-x")
    lake.tag_create("ds", "v2")
    with pytest.raises(UsageError, match="is a tag"):
        lake.ingest([tmp_path / "a"], "ds", ref="v2")


def test_time_travel_through_every_ref_form(lake, tmp_path):
    first = lake.ingest([_drop(tmp_path / "a", range(2))], "ds")
    between = datetime.now(UTC)
    lake.tag_create("ds", "v1")
    second = lake.ingest([_drop(tmp_path / "b", range(2, 5))], "ds")
    expected = _ids(lake, "v1")
    assert len(expected) == 2 and len(_ids(lake)) == 5

    assert _ids(lake, version_id=first.version_id) == expected
    for name in ("assets", "sources"):  # the snapshots this version introduced
        assert _ids(lake, snapshot_id=first.snapshots[name]) == expected
    # quarantine was untouched: its snapshot belongs to the version that created it
    assert lake.resolve("ds", snapshot_id=first.snapshots["quarantine"]).operation == "create"
    assert _ids(lake, as_of=between) == expected
    assert _ids(lake, as_of=datetime.now(UTC)) == _ids(lake)
    with pytest.raises(RefNotFound):
        lake.resolve("ds", as_of=between - timedelta(days=1))
    with pytest.raises(SnapshotNotFound):
        lake.resolve("ds", snapshot_id=12345)
    assert second.version_id > first.version_id


def test_rollback_then_publish_again(lake, tmp_path):
    first = lake.ingest([_drop(tmp_path / "a", range(2))], "ds")
    lake.ingest([_drop(tmp_path / "b", range(2, 4))], "ds")
    rolled = lake.rollback("ds", str(first.version_id))
    assert rolled.operation == "rollback" and rolled.snapshots == first.snapshots
    assert len(_ids(lake)) == 2
    assert rolled.properties["fingerprint"] == _fingerprint_of(_ids(lake))
    history = [v.version_id for v in lake.log("ds")]
    assert first.version_id in history and len(history) == 4  # nothing forgotten

    lake.branch_create("ds", "fix")
    lake.ingest([_drop(tmp_path / "c", range(10, 12))], "ds", ref="fix")
    lake.publish("ds", "fix", "after rollback")
    assert len(_ids(lake)) == 4
    assert [v.operation for v in lake.log("ds", ref="main")] == [
        "publish",
        "rollback",
        "ingest",
        "ingest",
        "create",
    ]


def test_racing_publishes_one_wins_one_is_refused_nothing_lost(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(1))], "ds")
    for name, seeds in (("x", range(10, 12)), ("y", range(20, 22))):
        lake.branch_create("ds", name)
        lake.ingest([_drop(tmp_path / name, seeds, name)], "ds", ref=name)
    both_checked = threading.Barrier(2, timeout=60)

    def wait_for_the_other(change) -> list[str]:
        both_checked.wait()  # both gates pass against the same head of main
        return []

    outcomes: dict[str, object] = {}

    def publish(name: str) -> None:
        try:
            outcomes[name] = lake.publish(
                "ds", name, f"publish {name}", checks=[wait_for_the_other]
            )
        except CommitConflict as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=publish, args=(n,)) for n in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conflicts = [n for n, o in outcomes.items() if isinstance(o, CommitConflict)]
    assert len(conflicts) == 1, outcomes
    assert "moved while publishing" in str(outcomes[conflicts[0]])
    assert len(_ids(lake)) == 3  # the winner's two + the base
    lake.publish("ds", conflicts[0], "again")  # the loser re-applies on the new head
    assert len(_ids(lake)) == 5


def test_unknown_refs_and_names(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(1))], "ds")
    with pytest.raises(RefNotFound):
        lake.branch_create("ds", "b", "nope")
    lake.branch_create("ds", "b")
    with pytest.raises(RefExists):
        lake.branch_create("ds", "b")
    with pytest.raises(UsageError, match="nothing to publish"):
        lake.publish("ds", "b", "empty")
    with pytest.raises(UsageError):
        lake.branch_delete("ds", "main")
    lake.branch_delete("ds", "b")
    assert "b" not in lake.catalog.load_table("ds.assets").metadata.refs
