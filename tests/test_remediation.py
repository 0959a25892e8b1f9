"""The remediation queue end to end: list, export, replace, release, drop, refusals, audit."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from lakehouse import Lakehouse, remediation
from lakehouse.errors import LakehouseError, UsageError
from lakehouse.remediation import (
    QuarantineItemClosed,
    QuarantineItemNotFound,
    ReleaseRefused,
    export_names,
    original_name,
)
from lakehouse.resources import resource
from lakehouse.samples import grayscale_jpeg, make_jpeg, truncated_jpeg


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _drop(root: Path) -> dict[str, bytes]:
    files = {
        "good.jpg": make_jpeg(1),
        "broken.jpg": truncated_jpeg(201),  # make_jpeg(201) cut in its scan
        "gray.jpg": grayscale_jpeg(),
        "more/broken.jpg": truncated_jpeg(202),  # same file name, other bytes
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def _loose_policy(tmp_path: Path) -> Path:
    text = (
        resource("quality/policies/default.toml")
        .read_text()
        .replace("channels = [3]", "channels = [1, 3]")
        .replace('color_modes = ["rgb"]', 'color_modes = ["rgb", "gray"]')
        .replace('name = "default"', 'name = "loose"')
    )
    path = tmp_path / "loose.toml"
    path.write_text(text)
    return path


def _item(lake: Lakehouse, sha: str, ref: str = "main") -> dict:
    (found,) = [i for i in remediation.list_quarantine(lake, "ds", ref) if i["sha256"] == sha]
    return found


def _statuses(lake: Lakehouse, ref: str) -> dict[str, str]:
    return {i["sha256"]: i["status"] for i in remediation.list_quarantine(lake, "ds", ref)}


@pytest.fixture
def quarantined(lake: Lakehouse, tmp_path: Path) -> dict[str, bytes]:
    files = _drop(tmp_path / "drop")
    report = lake.ingest([tmp_path / "drop"], "ds")
    assert report.counts["added"] == 1 and report.counts["quarantined"] == 3
    return files


def test_round_trip_list_export_replace_release(lake, quarantined, tmp_path):
    files = quarantined
    broken, gray, other = files["broken.jpg"], files["gray.jpg"], files["more/broken.jpg"]

    items = remediation.list_quarantine(lake, "ds")
    assert {i["sha256"] for i in items} == {_sha(broken), _sha(gray), _sha(other)}
    assert all(i["status"] == "open" and "content" not in i for i in items)
    assert _item(lake, _sha(broken))["reasons"] == ["truncated"]
    assert _item(lake, _sha(gray))["reasons"] == [
        "channels_not_allowed",
        "color_mode_not_allowed",
    ]
    assert _item(lake, _sha(gray))["category"] == "policy"
    assert len(remediation.list_quarantine(lake, "ds", reason="truncated")) == 2
    assert [i["sha256"] for i in remediation.list_quarantine(lake, "ds", category="policy")] == [
        _sha(gray)
    ]
    assert remediation.list_quarantine(lake, "ds", status="fixed") == []

    # export: the exact bytes under their original names, collision-safe, plus a manifest
    out = tmp_path / "out"
    exported = remediation.export_quarantined(lake, "ds", out)
    manifest = [json.loads(line) for line in (out / remediation.MANIFEST).read_text().splitlines()]
    assert {m["sha256"] for m in manifest} == {_sha(broken), _sha(gray), _sha(other)}
    for line in manifest:
        assert _sha((out / line["file"]).read_bytes()) == line["sha256"]
        assert line["source_uri"].startswith("file://") and line["reasons"]
    names = sorted(m["file"] for m in manifest)
    assert "gray.jpg" in names and "broken.jpg" in names
    assert len(names) == 3 and len([n for n in names if n.startswith("broken.")]) == 2
    assert exported.written == 3 and exported.bytes == len(broken) + len(gray) + len(other)
    again = remediation.export_quarantined(lake, "ds", out)
    assert again.written == 0  # idempotent; never overwrites
    (out / "gray.jpg").write_bytes(b"edited in place")
    with pytest.raises(UsageError, match="different content"):
        remediation.export_quarantined(lake, "ds", out)

    # replace the truncated photo with a good file, release the grayscale one, on branch fix
    lake.branch_create("ds", "fix")
    main_version = lake.resolve("ds").version_id
    fixed_file = tmp_path / "fixed" / "broken.jpg"
    fixed_file.parent.mkdir()
    fixed_file.write_bytes(make_jpeg(201))
    qid_broken = _item(lake, _sha(broken))["quarantine_id"]
    replaced = remediation.replace(
        lake, "ds", qid_broken, fixed_file, "fix", "re-exported from the camera card"
    )
    assert (replaced.status, replaced.asset_id) == ("replaced", _sha(make_jpeg(201)))
    assert replaced.ledger_outcome == "added" and replaced.actor == lake.actor

    qid_gray = _item(lake, _sha(gray))["quarantine_id"]
    released = remediation.release(
        lake,
        "ds",
        qid_gray[:8],
        "fix",
        "grayscale is fine for this task",
        policy=str(_loose_policy(tmp_path)),
    )
    assert (released.quarantine_id, released.status) == (qid_gray, "fixed")
    assert released.asset_id == _sha(gray) and released.policy.startswith("loose@")

    assert _statuses(lake, "fix") == {
        _sha(broken): "replaced",
        _sha(gray): "fixed",
        _sha(other): "open",
    }
    assert set(_statuses(lake, "main").values()) == {"open"}
    assert lake.resolve("ds").version_id == main_version  # main moves only by publish

    # one version per status change, on the branch, with who and why
    versions = {v.version_id: v for v in lake.log("ds", ref="fix")}
    change = versions[released.version_id]
    assert change.operation == "quarantine.release" and change.actor == lake.actor
    assert change.properties["reason"] == "grayscale is fine for this task"
    assert change.properties["quarantine_id"] == qid_gray
    assert change.parent_id == released.ingest_version_id  # ingest, then the status change
    assert versions[replaced.version_id].properties["asset_id"] == replaced.asset_id
    # the status change rewrote the quarantine table only
    before = versions[released.ingest_version_id].snapshots
    assert {t for t, s in change.snapshots.items() if before[t] != s} == {"quarantine"}

    # the ledger and the assets on fix record the re-admitted files and their provenance
    ledger = lake.sql(
        "SELECT ingest_id, outcome, asset_id FROM sources WHERE outcome = 'added'",
        "ds",
        ref="fix",
    ).to_dicts()
    assert {(r["ingest_id"], r["asset_id"]) for r in ledger} >= {
        (replaced.ingest_id, replaced.asset_id),
        (released.ingest_id, released.asset_id),
    }
    assets = lake.sql("SELECT asset_id, attrs FROM assets", "ds", ref="fix").to_dicts()
    attrs = {a["asset_id"]: a["attrs"] for a in assets}
    assert attrs[released.asset_id]["lakehouse.quarantine_id"] == qid_gray
    assert attrs[replaced.asset_id]["lakehouse.remediation"] == "replace"
    assert lake.sql("SELECT count(*) FROM assets", "ds").item() == 1  # main untouched

    # the audit log says who did what and why; show gathers it per item
    audit = [a for a in lake.audit_log("ds") if a["action"].startswith("quarantine.")]
    release_rows = [a for a in audit if a["action"] == "quarantine.release"]
    assert release_rows[-1]["actor"] == lake.actor and release_rows[-1]["outcome"] == "ok"
    detail = json.loads(release_rows[-1]["detail"])
    assert detail["reason"] == "grayscale is fine for this task"
    assert detail["quarantine_id"] == qid_gray and detail["version_id"] == released.version_id
    shown = remediation.show(lake, "ds", qid_gray, ref="fix")
    assert shown["status"] == "fixed" and [s["outcome"] for s in shown["sources"]] == [
        "quarantined"
    ]
    assert [(h["action"], h["outcome"], h["reason"]) for h in shown["history"]] == [
        ("release", "ok", "grayscale is fine for this task")
    ]
    assert remediation.show(lake, "ds", qid_gray)["status"] == "open"  # at main

    # a closed item cannot change again
    with pytest.raises(QuarantineItemClosed, match="'fixed'"):
        remediation.drop(lake, "ds", qid_gray, "fix", "changed my mind")


def test_release_that_still_fails_is_refused_and_changes_nothing(lake, quarantined, tmp_path):
    lake.branch_create("ds", "fix")
    head = lake.resolve("ds", ref="fix").version_id
    gray = _item(lake, _sha(quarantined["gray.jpg"]))["quarantine_id"]
    broken = _item(lake, _sha(quarantined["broken.jpg"]))["quarantine_id"]

    with pytest.raises(ReleaseRefused, match="channels_not_allowed") as refused:
        remediation.release(lake, "ds", gray, "fix", "looks fine to me")
    assert refused.value.reasons == ["channels_not_allowed", "color_mode_not_allowed"]
    with pytest.raises(ReleaseRefused, match="truncated"):
        remediation.release(lake, "ds", broken, "fix", "try anyway", policy=None)
    still_bad = tmp_path / "still_bad.jpg"
    still_bad.write_bytes(truncated_jpeg(203))
    with pytest.raises(ReleaseRefused, match="truncated"):
        remediation.replace(lake, "ds", broken, still_bad, "fix", "second attempt")

    assert lake.resolve("ds", ref="fix").version_id == head  # no version, no ingest
    assert set(_statuses(lake, "fix").values()) == {"open"}
    assert lake.sql("SELECT count(*) FROM assets", "ds", ref="fix").item() == 1
    denied = [a for a in lake.audit_log("ds") if a["outcome"] == "denied"]
    assert [a["action"] for a in denied] == ["quarantine.release"] * 2 + ["quarantine.replace"]
    assert json.loads(denied[0]["detail"])["reason"] == "looks fine to me"
    history = remediation.show(lake, "ds", gray)["history"]
    assert [(h["outcome"], h["reason"]) for h in history] == [("denied", "looks fine to me")]


def test_drop_and_bad_requests(lake, quarantined, tmp_path):
    qid = _item(lake, _sha(quarantined["more/broken.jpg"]))["quarantine_id"]
    with pytest.raises(UsageError, match="never on main"):
        remediation.drop(lake, "ds", qid, "main", "junk")
    lake.branch_create("ds", "fix")
    lake.tag_create("ds", "v1")
    with pytest.raises(UsageError, match="is a tag"):
        remediation.drop(lake, "ds", qid, "v1", "junk")
    with pytest.raises(UsageError, match="reason is required"):
        remediation.drop(lake, "ds", qid, "fix", " ")
    with pytest.raises(QuarantineItemNotFound) as unknown:
        remediation.drop(lake, "ds", "0" * 32, "fix", "junk")
    assert isinstance(unknown.value, LookupError) and isinstance(unknown.value, LakehouseError)
    with pytest.raises(QuarantineItemNotFound, match="at least"):
        remediation.show(lake, "ds", qid[:3])
    with pytest.raises(UsageError, match="not a regular file"):
        remediation.replace(lake, "ds", qid, tmp_path / "missing.jpg", "fix", "fixed")

    dropped = remediation.drop(lake, "ds", qid, "fix", "a duplicate shot, not needed")
    assert dropped.status == "dropped" and dropped.asset_id is None
    version = lake.resolve("ds", ref="fix")
    assert version.version_id == dropped.version_id
    assert version.operation == "quarantine.drop" and version.message.endswith("not needed")
    assert _statuses(lake, "fix")[_sha(quarantined["more/broken.jpg"])] == "dropped"
    assert lake.sql("SELECT count(*) FROM quarantine", "ds", ref="fix").item() == 3
    assert set(_statuses(lake, "main").values()) == {"open"}
    # the bytes stay stored: a dropped item can still be exported
    out = remediation.export_quarantined(lake, "ds", tmp_path / "out", [qid], ref="fix")
    assert (tmp_path / "out" / out.items[0]["file"]).read_bytes() == quarantined["more/broken.jpg"]


def test_export_names_are_distinct_and_keep_the_original_name():
    rows = [
        {"quarantine_id": "a" * 32, "source_uri": "file:///x/broken.jpg"},
        {"quarantine_id": "b" * 32, "source_uri": "file:///y/BROKEN.jpg"},
        {"quarantine_id": "c" * 32, "source_uri": "file:///z/quarantine-manifest.jsonl"},
        {"quarantine_id": "d" * 32, "source_uri": "file:///w/my%20photo.jpg"},
    ]
    assert export_names(rows) == {
        "a" * 32: "broken.jpg",
        "b" * 32: f"BROKEN.{'b' * 12}.jpg",
        "c" * 32: f"quarantine-manifest.{'c' * 12}.jsonl",
        "d" * 32: "my photo.jpg",
    }
    assert original_name("file:///", "q" * 32) == "q" * 32


def _main_moves(lake: Lakehouse, tmp_path: Path) -> None:
    """Another ingest lands on main: one new asset and one new quarantine item."""
    other = tmp_path / "other"
    other.mkdir()
    (other / "new.jpg").write_bytes(make_jpeg(7))
    (other / "cut.jpg").write_bytes(truncated_jpeg(204))
    assert lake.ingest([other], "ds").counts["quarantined"] == 1


def test_publish_after_main_moved_keeps_one_row_per_item(lake, quarantined, tmp_path):
    lake.branch_create("ds", "fix")
    qid = _item(lake, _sha(quarantined["more/broken.jpg"]))["quarantine_id"]
    remediation.drop(lake, "ds", qid, "fix", "not needed")
    _main_moves(lake, tmp_path)
    lake.publish("ds", "fix", "remediation", override="test: gate not under test here")
    rows = remediation.list_quarantine(lake, "ds")
    assert len(rows) == len({r["quarantine_id"] for r in rows}) == 4
    assert {r["quarantine_id"]: r["status"] for r in rows}[qid] == "dropped"


def test_two_branches_remediating_one_drop_both_publish(lake, quarantined):
    by_sha = {i["sha256"]: i["quarantine_id"] for i in remediation.list_quarantine(lake, "ds")}
    one, other = by_sha[_sha(quarantined["broken.jpg"])], by_sha[_sha(quarantined["gray.jpg"])]
    lake.branch_create("ds", "corrupt")
    lake.branch_create("ds", "policy")
    remediation.drop(lake, "ds", one, "corrupt", "unrecoverable")
    remediation.drop(lake, "ds", other, "policy", "out of scope")  # same data file rewritten
    lake.publish("ds", "corrupt", "corrupt items", override="test: gate not under test here")
    lake.publish("ds", "policy", "policy items", override="test: gate not under test here")
    statuses = {r["quarantine_id"]: r["status"] for r in remediation.list_quarantine(lake, "ds")}
    assert len(statuses) == 3 and statuses[one] == statuses[other] == "dropped"


def test_reapply_status_changes_by_key(lake, quarantined, tmp_path):
    from lakehouse import tables as iceberg
    from lakehouse.errors import CommitConflict
    from lakehouse.schema import QUARANTINE

    lake.branch_create("ds", "fix")
    fork = lake.resolve("ds").snapshots[QUARANTINE]
    dropped = _item(lake, _sha(quarantined["more/broken.jpg"]))["quarantine_id"]
    remediation.drop(lake, "ds", dropped, "fix", "not needed")
    branch_head = lake.resolve("ds", ref="fix").snapshots[QUARANTINE]
    _main_moves(lake, tmp_path)

    def reapply_onto_main() -> dict[str, list[str]]:
        iceberg.set_branch(lake.catalog, "ds.quarantine", "lakehouse-test", branch_head)
        table = lake.catalog.load_table("ds.quarantine")
        onto = lake.resolve("ds").snapshots[QUARANTINE]
        try:
            assert remediation.reapply_status_changes(
                lake.catalog, table, "lakehouse-test", fork, onto
            )
            fresh = lake.catalog.load_table("ds.quarantine")
            head = fresh.metadata.refs["lakehouse-test"].snapshot_id
            rows = fresh.scan(snapshot_id=head, selected_fields=("quarantine_id", "status"))
            found: dict[str, list[str]] = {}
            for row in rows.to_arrow().to_pylist():
                found.setdefault(row["quarantine_id"], []).append(row["status"])
            return found
        finally:
            iceberg.remove_branch(lake.catalog, "ds.quarantine", "lakehouse-test")

    rebased = reapply_onto_main()
    assert len(rebased) == 4 and all(len(s) == 1 for s in rebased.values())
    assert rebased[dropped] == ["dropped"]
    assert sorted(s for (s,) in rebased.values()) == ["dropped", "open", "open", "open"]
    # an append-only branch is left to the ordinary re-application
    table = lake.catalog.load_table("ds.quarantine")
    assert not remediation.reapply_status_changes(lake.catalog, table, "nope", fork, fork)

    # main changed the same item differently meanwhile: a conflict, never a silent winner
    remediation.set_status(
        lake.catalog,
        lake.control,
        "ds",
        "main",
        dropped,
        "release",
        lake.actor,
        "released on main meanwhile",
    )
    with pytest.raises(CommitConflict, match="changed differently on both sides"):
        reapply_onto_main()


def test_concurrent_status_changes_on_one_branch_both_land(lake, quarantined, monkeypatch):
    import threading

    lake.branch_create("ds", "fix")
    ids = [i["quarantine_id"] for i in remediation.list_quarantine(lake, "ds")][:2]
    both_forked = threading.Barrier(2, timeout=60)
    first_try: set[str] = set()
    write = remediation._overwrite_row

    def racing_write(catalog, identifier, work, row, properties) -> None:
        write(catalog, identifier, work, row, properties)
        if row["quarantine_id"] not in first_try:  # both forked from the same head
            first_try.add(row["quarantine_id"])
            both_forked.wait()

    monkeypatch.setattr(remediation, "_overwrite_row", racing_write)
    results: dict[str, object] = {}

    def drop(qid: str) -> None:
        try:
            results[qid] = remediation.drop(lake, "ds", qid, "fix", "racing")
        except Exception as exc:  # reported below
            results[qid] = exc

    threads = [threading.Thread(target=drop, args=(q,)) for q in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(r, remediation.Remediation) for r in results.values()), results
    rows = remediation.list_quarantine(lake, "ds", "fix")
    assert len(rows) == 3 and sorted(r["status"] for r in rows) == ["dropped", "dropped", "open"]
    # the loser redid its change on the winner's version: one version each, in a chain
    first, second = sorted(r.version_id for r in results.values())  # type: ignore[attr-defined]
    assert lake.resolve("ds", ref="fix").version_id == second
    assert lake.control.version(second).parent_id == first
