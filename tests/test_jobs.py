"""The Ray job entry points, submitted with `ray job submit` to a `ray start --head` cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse import Lakehouse, Settings
from lakehouse.samples import make_jpeg

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory) -> Iterator[str]:
    """A real `ray start --head --block` on loopback ports of its own; stopped by the test.

    Token auth is off for this throwaway test cluster only; every port is chosen free so it
    never collides with the session's own local Ray.
    """
    temp = tmp_path_factory.mktemp("ray-head")
    dashboard = _free_port()
    ports = {
        "--port": _free_port(),
        "--dashboard-port": dashboard,
        "--dashboard-agent-listen-port": _free_port(),
        "--dashboard-agent-grpc-port": _free_port(),
        "--metrics-export-port": _free_port(),
        "--runtime-env-agent-port": _free_port(),
        "--node-manager-port": _free_port(),
        "--object-manager-port": _free_port(),
    }
    head = subprocess.Popen(
        [
            "ray",
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            "--dashboard-host=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=true",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
            *(f"{flag}={port}" for flag, port in ports.items()),
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    address = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 180
        while (
            subprocess.run(
                ["ray", "job", "list", "--address", address],
                env=_env(),
                capture_output=True,
                timeout=60,
            ).returncode
            != 0
        ):
            assert head.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "the Ray head did not come up"
            time.sleep(2)
        yield address
    finally:
        head.terminate()  # `--block` stops every process it started
        head.wait(timeout=120)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_AUTH_MODE"] = "disabled"
    return env


def _submit(address: str, home: Path, *entrypoint: str) -> subprocess.CompletedProcess:
    runtime_env = {"env_vars": {"LAKEHOUSE_HOME": str(home)}}
    return subprocess.run(
        [
            "ray",
            "job",
            "submit",
            "--address",
            address,
            "--working-dir",
            str(REPO),
            "--runtime-env-json",
            json.dumps(runtime_env),
            "--",
            sys.executable,
            *entrypoint,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )


def test_ingest_and_validate_through_ray_job_submit(ray_head, tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    for seed in range(4):
        (drop / f"{seed}.jpg").write_bytes(make_jpeg(seed, size=(160, 120)))
    home = tmp_path / "home"

    ingest = _submit(ray_head, home, "jobs/ingest.py", str(drop), "--dataset", "ds", "--json")
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    assert '"added": 4' in ingest.stdout

    lake = Lakehouse(Settings.embedded(home))
    lake.branch_create("ds", "audit")
    validate = _submit(ray_head, home, "jobs/validate.py", "ds", "--ref", "audit", "--json")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert '"assets_checked": 4' in validate.stdout
    assert lake.resolve("ds", ref="audit").operation == "validate"
    assert lake.sql("SELECT count(*) FROM checks", "ds", ref="audit").item() > 0
