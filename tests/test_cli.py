"""The CLI: help everywhere, JSON for scripts, one-line errors with non-zero exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from lakehouse.cli import build_parser, main


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_help(capsys):
    commands = _subcommands()
    assert {"init", "ingest", "sql", "demo", "datasets", "log"} <= set(commands)
    for name, sub in commands.items():
        assert sub.description, f"{name} has no description"
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: lakehouse {name}" in capsys.readouterr().out


@pytest.fixture
def home(tmp_path, monkeypatch, ray_cluster):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path / "home"))
    for name in ("LAKEHOUSE_CONFIG", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


def test_ingest_json_then_sql_in_every_format(home, messy_drop, capsys):
    root, expected = messy_drop
    assert (
        main(
            [
                "ingest",
                str(root),
                "--dataset",
                "street",
                "--json",
                "--no-progress",
                "--attr",
                "sensor=cam-a",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["files"] == len(expected)
    assert sum(report["counts"].values()) == len(expected)
    assert report["snapshot_id"] == report["snapshots"]["assets"]
    assert 0 < report["files_hashed"] < len(expected)  # symlinks, FIFOs, junk: never read

    query = "SELECT outcome, count(*) AS n FROM sources GROUP BY 1 ORDER BY 1"
    assert main(["sql", query, "--dataset", "street", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["outcome"]: r["n"] for r in rows} == {k: v for k, v in report["counts"].items() if v}
    assert main(["sql", query, "-d", "street", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "outcome,n"
    assert main(["sql", "SELECT asset_id, content FROM assets LIMIT 1", "-d", "street"]) == 0
    assert "bytes>" in capsys.readouterr().out
    assert main(["sql", "SELECT content FROM assets LIMIT 1", "-d", "street", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["content"]  # base64 text

    assert main(["log", "street", "--json"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert [v["operation"] for v in log] == ["ingest", "create"]
    assert main(["datasets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["street"][0]["ref"] == "main"

    argv = ["ingest", str(root), "-d", "street", "--json", "--no-progress", "--rehash"]
    assert main([*argv, "--attr", "sensor=cam-a"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["files_hashed"] == report["files_hashed"] and again["counts"]["added"] == 0


def test_time_travel_with_snapshot_and_ref(home, tmp_path, capsys):
    from lakehouse.samples import make_jpeg

    for i in range(2):
        drop = tmp_path / f"drop{i}"
        drop.mkdir()
        (drop / f"{i}.jpg").write_bytes(make_jpeg(500 + i))
        assert main(["ingest", str(drop), "-d", "ds", "--json", "--no-progress"]) == 0
        if i == 0:
            first = json.loads(capsys.readouterr().out)
    capsys.readouterr()
    count = "SELECT count(*) AS n FROM assets"
    assert main(["sql", count, "-d", "ds", "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]
    for snapshot in (first["snapshots"]["assets"], first["snapshots"]["sources"]):
        assert main(["sql", count, "-d", "ds", "-f", "json", "--snapshot", str(snapshot)]) == 0
        assert json.loads(capsys.readouterr().out) == [{"n": 1}]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sql", "SELECT 1", "-d", "nope"], "dataset 'nope' does not exist"),
        (["ingest", "/definitely/missing", "-d", "ds"], "no such file or directory"),
        (["ingest", ".", "-d", "ds", "--attr", "novalue"], "--attr expects KEY=VALUE"),
    ],
)
def test_user_mistakes_are_one_line_errors(home, capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lakehouse", "sql", "SELECT nope FROM assets", "-d", "x"],
        env={"LAKEHOUSE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (
        proc.stderr.strip() == "lakehouse: error: dataset 'x' does not exist (ingest into it first)"
    )
