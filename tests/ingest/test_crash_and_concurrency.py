"""`kill -9` at any moment then a re-run, and two ingests at once: real processes, real Ray."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from lakehouse import Lakehouse, Settings
from lakehouse.samples import make_jpeg, write_messy_drop
from lakehouse.samples_video import write_mkv

pytestmark = pytest.mark.slow


def _cli_env(home: Path, commit_mb: int = 1) -> dict[str, str]:
    import ray

    env = dict(os.environ)
    env.update(
        LAKEHOUSE_HOME=str(home),
        LAKEHOUSE_INGEST_COMMIT_MB=str(commit_mb),
        LAKEHOUSE_INGEST_FILES_PER_TASK="4",
        # Join the test session's Ray instead of starting one per process (seconds each).
        RAY_ADDRESS=ray.get_runtime_context().gcs_address,
    )
    return env


def _ingest_cmd(root: Path, dataset: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lakehouse",
        "ingest",
        str(root),
        "--dataset",
        dataset,
        "--no-progress",
        "--json",
    ]


def _make_tree(root: Path, seeds: range, prefix: str = "img") -> None:
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (root / f"{prefix}_{seed:04d}.jpg").write_bytes(make_jpeg(seed))


def _batches(home: Path) -> int:
    try:
        with sqlite3.connect(home / "catalog.db", timeout=30) as db:
            row = db.execute(
                "SELECT max(batches) FROM lakehouse_ingests WHERE status = 'running'"
            ).fetchone()
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    return row[0] or 0


def _state(home: Path, dataset: str) -> dict:
    lake = Lakehouse(Settings.embedded(home))
    assets = lake.sql("SELECT asset_id FROM assets", dataset)["asset_id"].to_list()
    quarantine = lake.sql("SELECT quarantine_id FROM quarantine", dataset)
    sources = lake.sql(
        "SELECT rel_path, outcome, asset_id, quarantine_id, detail FROM sources", dataset
    )
    return {
        "assets": sorted(assets),
        "quarantine": sorted(quarantine["quarantine_id"].to_list()),
        "sources": sorted(tuple(r) for r in sources.rows()),
    }


def _difference(expected: dict, got: dict) -> str:
    """What a resumed run's state has too few and too many of, per table."""
    lines = []
    for name in expected:
        want, have = Counter(expected[name]), Counter(got[name])
        lines.append(f"{name}: missing {sorted(want - have)[:5]}, extra {sorted(have - want)[:5]}")
    return "\n".join(lines)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool]) -> bool:
    """Wait until `ready()` or the ingest ends; `kill -9` its process group if still running.
    Returns whether it was killed."""
    deadline = time.monotonic() + 120
    while not ready() and proc.poll() is None:
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.01)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed


def _rerun_resumes(drop: Path, home: Path, env: dict[str, str], reference: dict) -> None:
    """The same command again resumes the killed run and ends in the reference state."""
    done = subprocess.run(_ingest_cmd(drop, "ds"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"resumed": true' in done.stdout
    got = _state(home, "ds")
    assert got == reference, _difference(reference, got)


def test_kill_9_at_any_moment_then_rerun_equals_an_uninterrupted_run(tmp_path, ray_cluster):
    drop = tmp_path / "drop"
    write_messy_drop(drop / "messy")
    _make_tree(drop / "bulk", range(60))
    files = sum(1 for p in drop.rglob("*") if p.is_file())

    reference_home = tmp_path / "reference"
    subprocess.run(
        _ingest_cmd(drop, "ds"), env=_cli_env(reference_home), check=True, capture_output=True
    )
    reference = _state(reference_home, "ds")
    assert len(reference["sources"]) == files

    home = tmp_path / "crashing"
    kills = 0
    for kill_after_batches in (1, 3):  # kill twice: resume a resumed run as well
        proc = subprocess.Popen(
            _ingest_cmd(drop, "ds"),
            env=_cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        kills += _kill_when(proc, lambda n=kill_after_batches: _batches(home) >= n)
        # nothing of an unfinished ingest is visible on main
        if kills:
            lake = Lakehouse(Settings.embedded(home))
            assert lake.sql("SELECT count(*) FROM sources", "ds").item() == 0
    assert kills >= 1
    _rerun_resumes(drop, home, _cli_env(home), reference)


def test_kill_9_while_a_video_streams_its_frames_then_rerun(tmp_path, ray_cluster):
    drop = tmp_path / "drop"
    _make_tree(drop / "photos", range(6))
    (drop / "clips").mkdir()
    write_mkv(drop / "clips/long.mkv", frames=240, size=(320, 240))
    write_mkv(drop / "clips/short.mkv", frames=30, size=(320, 240), seed=4)
    reference_home = tmp_path / "reference"
    subprocess.run(
        _ingest_cmd(drop, "ds"), env=_cli_env(reference_home), check=True, capture_output=True
    )
    reference = _state(reference_home, "ds")
    assert len(reference["assets"]) == 6 + 240 + 30

    home = tmp_path / "crashing"
    proc = subprocess.Popen(_ingest_cmd(drop, "ds"), env=_cli_env(home), start_new_session=True)
    # the photos' window, then frame batches of long.mkv: kill while they are uncheckpointed
    parquet = home / "warehouse/ds/assets/data"
    assert _kill_when(proc, lambda: len(list(parquet.glob("*.parquet"))) >= 4), (
        "finished before it could be killed"
    )
    _rerun_resumes(drop, home, _cli_env(home), reference)
    lake = Lakehouse(Settings.embedded(home))
    frames = lake.sql(
        "SELECT count(*), count(DISTINCT frame_index) FROM assets WHERE kind = 'frame'", "ds"
    )
    assert frames.row(0) == (270, 240)


def test_two_ingests_into_one_dataset_at_once_both_land_without_duplicates(tmp_path, ray_cluster):
    first, second = tmp_path / "first", tmp_path / "second"
    _make_tree(first, range(0, 30), "a")
    _make_tree(second, range(20, 50), "b")  # seeds 20..29: same bytes in both trees
    home = tmp_path / "home"
    Lakehouse(Settings.embedded(home)).init()

    procs = [
        subprocess.Popen(
            _ingest_cmd(root, "ds"),
            env=_cli_env(home, commit_mb=1),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for root in (first, second)
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err

    lake = Lakehouse(Settings.embedded(home))
    assets = lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list()
    assert len(assets) == len(set(assets)) == 50
    ledger = lake.sql("SELECT ingest_id, rel_path, outcome, asset_id FROM sources", "ds")
    assert ledger.height == 60
    outcomes_by_asset: dict[str, list[str]] = {}
    for row in ledger.to_dicts():
        outcomes_by_asset.setdefault(row["asset_id"], []).append(row["outcome"])
    shared = [v for v in outcomes_by_asset.values() if len(v) == 2]
    assert len(shared) == 10
    assert all(sorted(v) == ["added", "already_present"] for v in shared)
    assert len(lake.log("ds")) == 3  # created, then one version per ingest


def _cli(home: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lakehouse", *argv],
        env=_cli_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_racing_branch_writers_and_racing_publishes_in_processes(tmp_path, ray_cluster):
    home = tmp_path / "home"
    base = tmp_path / "base"
    _make_tree(base, range(0, 2))
    assert _cli(home, "ingest", str(base), "-d", "ds", "--no-progress").returncode == 0
    trees = {}
    for name, seeds in (("left", range(10, 25)), ("right", range(30, 45))):
        assert _cli(home, "branch", "create", "ds", name).returncode == 0
        trees[name] = tmp_path / name
        _make_tree(trees[name], seeds, name)

    # two writers on two branches of one dataset at once: both must land
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lakehouse",
                "ingest",
                str(trees[name]),
                "-d",
                "ds",
                "--branch",
                name,
                "--no-progress",
            ],
            env=_cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in trees
    ]
    for proc in writers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    lake = Lakehouse(Settings.embedded(home))
    for name in trees:
        assert lake.sql("SELECT count(*) FROM assets", "ds", ref=name).item() == 17

    # two publishes at once: each lands (possibly re-applied) or is refused cleanly
    publishers = [
        subprocess.Popen(
            [sys.executable, "-m", "lakehouse", "publish", "ds", name, "-m", name],
            env=_cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in trees
    ]
    codes = []
    for proc in publishers:
        _, err = proc.communicate(timeout=300)
        codes.append(proc.returncode)
        assert proc.returncode in (0, 3), err
        if proc.returncode == 3:
            assert "moved while publishing" in err and "Traceback" not in err
    assert 0 in codes
    for name, code in zip(trees, codes, strict=True):
        if code == 3:
            assert _cli(home, "publish", "ds", name, "-m", "retry").returncode == 0
    ids = lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list()
    assert len(ids) == len(set(ids)) == 32


def test_kill_9_while_short_clips_are_held_then_rerun(tmp_path, ray_cluster):
    drop = tmp_path / "drop"
    _make_tree(drop / "a_photos", range(6))  # walked first: their window is committed first
    (drop / "b_clips").mkdir()
    for seed in range(8):  # eight distinct clips (the sample photos)
        write_mkv(drop / f"b_clips/{seed:02d}.mkv", frames=40, size=(160, 120), seed=seed)
    reference_home = tmp_path / "reference"
    env = _cli_env(reference_home, commit_mb=64)  # every clip is held, none streamed
    subprocess.run(_ingest_cmd(drop, "ds"), env=env, check=True, capture_output=True)
    reference = _state(reference_home, "ds")
    assert len(reference["assets"]) == 6 + 8 * 40

    home = tmp_path / "crashing"
    proc = subprocess.Popen(
        _ingest_cmd(drop, "ds"), env=_cli_env(home, commit_mb=64), start_new_session=True
    )
    # photos checkpointed: the clips are under way, held
    assert _kill_when(proc, lambda: _batches(home) >= 1), "finished before it could be killed"
    _rerun_resumes(drop, home, _cli_env(home, commit_mb=64), reference)
