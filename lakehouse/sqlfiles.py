"""Named SQL files (`sql/**/*.sql`, `quality/checks/*.sql`) with a strict header.

    -- name: duplicate_rate
    -- description: share of assets that have a near-duplicate
    -- params: max_ratio (number, from the policy)

Parameters appear in the body as `{{ name }}` and are substituted only with numbers, so a
policy value can never inject SQL. Every parse error names the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lakehouse.errors import ConfigError

_HEADER = re.compile(r"^--\s*(name|description|params)\s*:\s*(.*)$")
_PARAM = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class SqlFile:
    name: str
    description: str
    params: tuple[str, ...]
    body: str
    path: Path

    def render(self, values: Mapping[str, float] | None = None) -> str:
        values = values or {}
        missing = [p for p in self.params if p not in values]
        if missing:
            raise ConfigError(f"{self.path}: parameters {missing} have no value")

        def substitute(match: re.Match[str]) -> str:
            value = values[match.group(1)]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{self.path}: parameter {match.group(1)} must be a number")
            return repr(float(value))

        return _PARAM.sub(substitute, self.body)


def load_sql(path: Path) -> SqlFile:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    body_lines: list[str] = []
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match and not body_lines:
            header[match.group(1)] = match.group(2).strip()
        elif line.strip() or body_lines:
            body_lines.append(line)
    for key in ("name", "description"):
        if not header.get(key):
            raise ConfigError(f"{path}: missing '-- {key}:' header line")
    if header["name"] != path.stem:
        raise ConfigError(f"{path}: header name {header['name']!r} differs from the file name")
    declared = tuple(
        p.split("(")[0].strip()
        for p in header.get("params", "").split(",")
        if p.strip() and p.strip().lower() != "none"
    )
    body = "\n".join(body_lines).strip().rstrip(";")
    used = set(_PARAM.findall(body))
    if used != set(declared):
        raise ConfigError(
            f"{path}: body uses parameters {sorted(used)} but the header declares "
            f"{sorted(declared)}"
        )
    if not body:
        raise ConfigError(f"{path}: no SQL after the header")
    return SqlFile(header["name"], header["description"], declared, body, path)


def load_dir(directory: Path) -> dict[str, SqlFile]:
    return {f.stem: load_sql(f) for f in sorted(directory.glob("*.sql"))}
