"""The publish gate: checks that decide whether a branch may land on its target.

A check looks at the assets a publish would add (metadata columns only, never image bytes)
and returns failure reasons. Checks are plain callables, so the quality jobs add theirs
(validation results, dedup freshness, audits) without changing publish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.control import Version
from lakehouse.errors import GateRefused
from lakehouse.history import added_files, read_columns
from lakehouse.media import ImageHeader
from lakehouse.policy import Policy, check_header
from lakehouse.schema import ASSETS


@dataclass(frozen=True)
class Change:
    """What a publish would do: land `heads` on top of `target`."""

    catalog: Catalog
    dataset: str
    target: Version
    heads: Mapping[str, int]


Check = Callable[[Change], list[str]]

_HEADER_COLUMNS = [
    "asset_id",
    "format",
    "width",
    "height",
    "channels",
    "bit_depth",
    "color_mode",
    "exif_orientation",
    "source_uri",
]


def policy_check(policy: Policy) -> Check:
    """Every asset the publish adds must pass `policy` (re-checked from stored headers)."""

    def check(change: Change) -> list[str]:
        table = iceberg.load_tables(change.catalog, change.dataset)[ASSETS]
        files = added_files(table, change.heads[ASSETS], change.target.snapshots[ASSETS])
        failures: Counter[str] = Counter()
        for batch in read_columns(table, files, _HEADER_COLUMNS):
            for row in batch.to_pylist():
                header = ImageHeader(
                    row["format"],
                    row["width"],
                    row["height"],
                    row["channels"],
                    row["bit_depth"],
                    row["color_mode"] or "other",
                    1,
                    row["exif_orientation"],
                )
                name = PurePosixPath(unquote(urlparse(row["source_uri"]).path)).name
                failures.update(v.code for v in check_header(policy.image, header, name))
        return [
            f"{n} added asset(s) fail policy {policy.name!r}: {code}"
            for code, n in sorted(failures.items())
        ]

    return check


def gate(
    catalog: Catalog, checks: Sequence[Check], policy_tag: str, override: str | None, branch: str
) -> Callable[[Version, Mapping[str, int]], dict[str, Any]]:
    """A publish gate running `checks`; refuses with every reason unless overridden."""

    def evaluate(target: Version, heads: Mapping[str, int]) -> dict[str, Any]:
        change = Change(catalog, target.dataset, target, heads)
        reasons = [reason for check in checks for reason in check(change)]
        verdict: dict[str, Any] = {"passed": not reasons, "policy": policy_tag, "reasons": reasons}
        if reasons and override is None:
            raise GateRefused(target.dataset, branch, reasons)
        if reasons:
            verdict["override"] = override
        return verdict

    return evaluate
