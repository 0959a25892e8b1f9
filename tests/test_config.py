"""Configuration layering: default file, user file, environment; strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import load_settings
from lakehouse.errors import ConfigError


def test_embedded_default_lives_under_lakehouse_home(tmp_path):
    settings = load_settings(env={"LAKEHOUSE_HOME": str(tmp_path)})
    assert settings.home == tmp_path.resolve()
    assert settings.catalog.uri == f"sqlite:///{tmp_path.resolve()}/catalog.db"
    assert settings.catalog.warehouse == f"file://{tmp_path.resolve()}/warehouse"
    assert settings.control_uri == settings.catalog.uri
    assert settings.ray.address is None
    assert settings.ingest.policy == "default"


def test_default_home_is_dot_lakehouse_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).home == tmp_path.resolve() / ".lakehouse"


def test_user_file_then_environment_override(tmp_path):
    user = tmp_path / "lh.toml"
    user.write_text("[ingest]\ncommit_mb = 16\nfiles_per_task = 8\n[ray]\nnum_cpus = 1\n")
    env = {
        "LAKEHOUSE_HOME": str(tmp_path),
        "LAKEHOUSE_CONFIG": str(user),
        "LAKEHOUSE_INGEST_FILES_PER_TASK": "3",
        "RAY_ADDRESS": "ray://head:10001",
    }
    settings = load_settings(env=env)
    assert settings.ingest.commit_bytes == 16 * 1024 * 1024
    assert settings.ingest.files_per_task == 3
    assert settings.ray.num_cpus == 1
    assert settings.ray.address == "ray://head:10001"
    explicit = load_settings(config_file=user, env={"LAKEHOUSE_HOME": str(tmp_path)})
    assert explicit.ingest.files_per_task == 8


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[catalog]\nurl = 'x'\n", "unknown key catalog.url"),
        ("[nope]\nx = 1\n", "unknown section [nope]"),
        ("[ingest]\ncommit_mb = 'big'\n", "ingest.commit_mb must be int"),
        ("[ingest\n", "not valid TOML"),
        ("[catalog]\ntype = 'hive'\n", "catalog.type must be"),
        ("[catalog]\ntype = 'rest'\n", "control.uri is required"),
    ],
)
def test_bad_config_files_are_refused_with_the_key_named(tmp_path, content, message):
    user = tmp_path / "bad.toml"
    user.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_settings(config_file=user, env={"LAKEHOUSE_HOME": str(tmp_path)})


def test_bad_environment_value_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="LAKEHOUSE_RAY_NUM_CPUS must be int"):
        load_settings(env={"LAKEHOUSE_RAY_NUM_CPUS": "two"})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=Path(tmp_path / "missing.toml"), env={})
