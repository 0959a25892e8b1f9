"""Dataset-level audits: SQL files that return violating rows, judged by policy thresholds."""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog import Catalog

from lakehouse.control import Version
from lakehouse.errors import ConfigError
from lakehouse.policy import Policy
from lakehouse.query import run_sql
from lakehouse.resources import resource_dir
from lakehouse.sqlfiles import load_dir

_SAMPLE_ROWS = 5


def run_audits(catalog: Catalog, version: Version, policy: Policy) -> dict[str, dict[str, Any]]:
    """{audit: {violations, max_violations, passed, sample}} for every audit the policy names."""
    available = load_dir(resource_dir("quality") / "checks")
    results: dict[str, dict[str, Any]] = {}
    for name, rule in policy.audits:
        if name not in available:
            raise ConfigError(
                f"policy {policy.name!r} names audit {name!r}, but "
                f"quality/checks/{name}.sql does not exist"
            )
        frame = run_sql(catalog, version, available[name].render(dict(rule.params)))
        results[name] = {
            "violations": frame.height,
            "max_violations": rule.max_violations,
            "passed": rule.max_violations < 0 or frame.height <= rule.max_violations,
            "sample": frame.head(_SAMPLE_ROWS).to_dicts(),
        }
    return results


def failed_audits(results: dict[str, dict[str, Any]]) -> list[str]:
    return [
        f"audit {name}: {r['violations']} violating rows > {r['max_violations']} allowed"
        for name, r in results.items()
        if not r["passed"]
    ]
