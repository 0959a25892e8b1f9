"""The same operations on a real PostgreSQL server: Iceberg SQL catalog and control plane.

The fixture runs `initdb` + `pg_ctl` from Debian's postgresql package on a free loopback
port in a temp dir (as the `postgres` user: PostgreSQL refuses to run as root) and stops it
afterwards. `.ci/run` installs the package when it is missing.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse import Lakehouse, Settings
from lakehouse.config import load_settings
from lakehouse.errors import RefExists
from lakehouse.samples import make_jpeg

pytestmark = pytest.mark.slow
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres() -> None:
    user = pwd.getpwnam("postgres")
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)


def _run_pg(*argv: str) -> None:
    preexec = _as_postgres if os.geteuid() == 0 else None
    subprocess.run(argv, check=True, capture_output=True, timeout=120, preexec_fn=preexec)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own; yields a SQLAlchemy URL."""
    assert (PG_BIN / "initdb").exists(), (
        "PostgreSQL 15 binaries missing: apt-get install postgresql"
    )
    # pytest's temp dirs are private to root; the server runs as `postgres`
    top = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    data = top / "data"
    data.mkdir()
    if os.geteuid() == 0:
        for path in (top, data):
            shutil.chown(path, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _run_pg(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "lakehouse")
    _run_pg(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-l",
        str(data / "server.log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {data}",
        "start",
    )
    try:
        _run_pg(
            str(PG_BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "lakehouse",
            "lakehouse",
        )
        yield f"postgresql+psycopg2://lakehouse@127.0.0.1:{port}/lakehouse"
    finally:
        _run_pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop")
        shutil.rmtree(top, ignore_errors=True)


def _settings(postgres: str, home: Path) -> Settings:
    base = load_settings(env={"LAKEHOUSE_HOME": str(home), "LAKEHOUSE_CATALOG_URI": postgres})
    return dataclasses.replace(base, control_uri=postgres)


def _drop(root: Path, seeds: range, prefix: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (root / f"{prefix}{seed}.jpg").write_bytes(make_jpeg(seed, size=(160, 120)))
    return root


def test_versioning_end_to_end_on_postgres(postgres, tmp_path, ray_cluster):
    lake = Lakehouse(_settings(postgres, tmp_path / "home"))
    first = lake.ingest([_drop(tmp_path / "a", range(3), "a")], "ds")
    assert first.counts["added"] == 3
    lake.branch_create("ds", "work")
    lake.ingest([_drop(tmp_path / "b", range(3, 5), "b")], "ds", ref="work")
    lake.publish("ds", "work", "on postgres")
    lake.tag_create("ds", "v1", "main", "release")
    with pytest.raises(RefExists):
        lake.tag_create("ds", "v1", "main")
    assert lake.sql("SELECT count(*) FROM assets", "ds", ref="v1").item() == 5
    assert lake.sql("SELECT count(*) FROM assets", "ds", version_id=first.version_id).item() == 3
    assert lake.verify("ds", ref="v1").ok
    chain = lake.audit_log("ds")
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(chain))


def test_concurrent_ingests_on_postgres(postgres, tmp_path, ray_cluster):
    import ray

    settings = _settings(postgres, tmp_path / "home")
    Lakehouse(settings).init()
    env = {
        **os.environ,
        "LAKEHOUSE_HOME": str(settings.home),
        "LAKEHOUSE_CATALOG_URI": postgres,
        "LAKEHOUSE_CONTROL_URI": postgres,
        "LAKEHOUSE_INGEST_COMMIT_MB": "1",
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
    }
    roots = [_drop(tmp_path / "x", range(0, 12), "x"), _drop(tmp_path / "y", range(6, 18), "y")]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lakehouse",
                "ingest",
                str(root),
                "-d",
                "racing",
                "--no-progress",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for root in roots
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    lake = Lakehouse(settings)
    ids = lake.sql("SELECT asset_id FROM assets", "racing")["asset_id"].to_list()
    assert len(ids) == len(set(ids)) == 18
    assert lake.sql("SELECT count(*) FROM sources", "racing").item() == 24
