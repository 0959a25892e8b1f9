"""Shared fixtures: a real catalog per test in a temp dir, one real local Ray per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse import Lakehouse, Settings
from lakehouse.raykit import ensure_ray


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    import ray

    settings = Settings.embedded("/nonexistent").ray
    ensure_ray(type(settings)(address=None, num_cpus=2))
    yield
    ray.shutdown()


@pytest.fixture
def lake(tmp_path: Path, ray_cluster: None) -> Lakehouse:
    return Lakehouse(Settings.embedded(tmp_path / "home"))


@pytest.fixture
def messy_drop(tmp_path: Path) -> tuple[Path, dict]:
    from lakehouse.samples import write_messy_drop

    root = tmp_path / "drop"
    return root, write_messy_drop(root)
