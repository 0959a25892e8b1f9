"""Find the project's data directories (`conf/`, `sql/`, `quality/`).

A checkout's own files win over the copies packed into the wheel (`lakehouse/_assets/`), so
edits to a policy or a SQL file take effect without reinstalling.
"""

from __future__ import annotations

from pathlib import Path

from lakehouse.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent
_ASSET_DIRS = ("conf", "sql", "quality")


def resource_dir(name: str) -> Path:
    """The directory `name` (one of conf, sql, quality), checkout first, wheel copy second."""
    if name not in _ASSET_DIRS:
        raise ValueError(f"unknown resource directory {name!r}")
    for candidate in (_PACKAGE_DIR.parent / name, _PACKAGE_DIR / "_assets" / name):
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"lakehouse installation is missing its {name}/ directory")


def resource(relative: str) -> Path:
    """A file below one of the resource directories, e.g. 'quality/policies/default.toml'."""
    top, _, rest = relative.partition("/")
    path = resource_dir(top) / rest
    if not path.is_file():
        raise ConfigError(f"lakehouse resource {relative!r} not found at {path}")
    return path
