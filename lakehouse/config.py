"""Settings: loaded explicitly, never at import time.

Layers, later wins: the bundled `conf/default.toml`, a user file (`--config` or
`LAKEHOUSE_CONFIG`), then `LAKEHOUSE_<SECTION>_<KEY>` environment variables. `{home}` in any
value expands to `LAKEHOUSE_HOME` (default `./.lakehouse`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError
from lakehouse.resources import resource

_SCHEMA: dict[str, dict[str, type]] = {
    "catalog": {"name": str, "type": str, "uri": str, "warehouse": str},
    "control": {"uri": str},
    "ray": {"address": str, "num_cpus": int},
    "ingest": {"policy": str, "commit_mb": int, "files_per_task": int, "video_cpus": int},
    "history": {
        "keep_versions": int,
        "auto_expire_snapshots": int,
        "auto_compact_files": int,
        "gc_grace_seconds": int,
    },
}


@dataclass(frozen=True)
class CatalogSettings:
    name: str
    type: str
    uri: str
    warehouse: str
    properties: Mapping[str, str] = field(default_factory=dict)

    def pyiceberg_properties(self) -> dict[str, str]:
        return {"type": self.type, "uri": self.uri, "warehouse": self.warehouse, **self.properties}


@dataclass(frozen=True)
class RaySettings:
    address: str | None
    num_cpus: int | None


@dataclass(frozen=True)
class IngestSettings:
    policy: str
    commit_bytes: int
    files_per_task: int
    video_cpus: int = 2  # CPUs one video's task reserves: decoding and frame encoding overlap


@dataclass(frozen=True)
class HistorySettings:
    keep_versions: int  # newest versions kept readable besides refs and tags
    auto_expire_snapshots: int  # maintenance runs by itself when a table has more snapshots
    auto_compact_files: int  # ... and compacts when a table of main has more data files
    gc_grace_seconds: int  # unreferenced files younger than this are never deleted


@dataclass(frozen=True)
class Settings:
    home: Path
    catalog: CatalogSettings
    control_uri: str
    ray: RaySettings
    ingest: IngestSettings
    history: HistorySettings

    @classmethod
    def embedded(cls, home: str | Path) -> Settings:
        """The default configuration rooted at `home`, ignoring the environment (tests, demos)."""
        return load_settings(env={"LAKEHOUSE_HOME": str(home)})

    def with_ingest(self, **changes: Any) -> Settings:
        return replace(self, ingest=replace(self.ingest, **changes))


def load_settings(
    config_file: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from the default file, an optional user file and the environment."""
    env = os.environ if env is None else env
    layers = _read_toml(resource("conf/default.toml"))
    user_file = config_file or env.get("LAKEHOUSE_CONFIG")
    if user_file:
        _merge(layers, _read_toml(Path(user_file)), source=str(user_file))
    _merge(layers, _env_layer(env), source="environment")

    home = Path(env.get("LAKEHOUSE_HOME") or ".lakehouse").expanduser().resolve()
    values = {
        section: {key: _expand(value, home) for key, value in keys.items()}
        for section, keys in layers.items()
    }
    catalog, ray, ingest, history = (values[k] for k in ("catalog", "ray", "ingest", "history"))
    if catalog["type"] not in ("sql", "rest"):
        raise ConfigError(f"catalog.type must be 'sql' or 'rest', not {catalog['type']!r}")
    control_uri = values["control"]["uri"] or (catalog["uri"] if catalog["type"] == "sql" else "")
    if not control_uri:
        raise ConfigError("control.uri is required when the catalog is not a SQL catalog")
    ray_address = env.get("RAY_ADDRESS") or ray["address"] or None
    if min(ingest["commit_mb"], ingest["files_per_task"], ingest["video_cpus"]) <= 0:
        raise ConfigError(
            "ingest.commit_mb, ingest.files_per_task and ingest.video_cpus must be positive"
        )
    if history["keep_versions"] < 1 or history["auto_expire_snapshots"] < 1:
        raise ConfigError("history.keep_versions and history.auto_expire_snapshots must be >= 1")
    return Settings(
        home=home,
        catalog=CatalogSettings(
            name=catalog["name"],
            type=catalog["type"],
            uri=catalog["uri"],
            warehouse=catalog["warehouse"],
        ),
        control_uri=control_uri,
        ray=RaySettings(address=ray_address, num_cpus=ray["num_cpus"] or None),
        ingest=IngestSettings(
            policy=ingest["policy"],
            commit_bytes=ingest["commit_mb"] * 1024 * 1024,
            files_per_task=ingest["files_per_task"],
            video_cpus=ingest["video_cpus"],
        ),
        history=HistorySettings(**history),
    )


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    _validate(data, source=str(path))
    return data


def _validate(data: Mapping[str, Any], source: str) -> None:
    for section, keys in data.items():
        if section not in _SCHEMA or not isinstance(keys, dict):
            raise ConfigError(f"{source}: unknown section [{section}]")
        for key, value in keys.items():
            expected = _SCHEMA[section].get(key)
            if expected is None:
                raise ConfigError(f"{source}: unknown key {section}.{key}")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(
                    f"{source}: {section}.{key} must be {expected.__name__}, got {value!r}"
                )


def _merge(base: dict[str, dict[str, Any]], overlay: Mapping[str, Any], source: str) -> None:
    _validate(overlay, source)
    for section, keys in overlay.items():
        base.setdefault(section, {}).update(keys)


def _env_layer(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    layer: dict[str, dict[str, Any]] = {}
    for section, keys in _SCHEMA.items():
        for key, kind in keys.items():
            raw = env.get(f"LAKEHOUSE_{section.upper()}_{key.upper()}")
            if raw is None:
                continue
            try:
                layer.setdefault(section, {})[key] = kind(raw)
            except ValueError:
                raise ConfigError(
                    f"LAKEHOUSE_{section.upper()}_{key.upper()} must be {kind.__name__}, "
                    f"got {raw!r}"
                ) from None
    return layer


def _expand(value: Any, home: Path) -> Any:
    return value.replace("{home}", str(home)) if isinstance(value, str) else value
