"""The publish gate: checks that decide whether a branch may land on its target.

A check looks at the assets a publish would add (metadata columns only, never image bytes)
and returns failure reasons. Checks are plain callables, so the quality jobs add theirs
(validation results, dedup freshness, audits) without changing publish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import GateRefused
from lakehouse.history import added_files, read_columns
from lakehouse.media import ImageHeader
from lakehouse.policy import Policy, check_header
from lakehouse.schema import ASSETS, CHECKS


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


def validation_check(policy: Policy, control: ControlPlane) -> Check:
    """No blocking check failure on the assets the publish adds (latest run per asset); with
    `gate.require_validation`, those assets must have been validated under this policy."""
    from lakehouse.validate import blocking_failures

    tag = f"{policy.name}@{policy.digest}"

    def check(change: Change) -> list[str]:
        table = iceberg.load_tables(change.catalog, change.dataset)[ASSETS]
        files = added_files(table, change.heads[ASSETS], change.target.snapshots[ASSETS])
        added = {
            r["asset_id"] for b in read_columns(table, files, ["asset_id"]) for r in b.to_pylist()
        }
        failures = blocking_failures(
            change.catalog, change.dataset, change.heads, added, tag, set(policy.gate.warn_only)
        )
        reasons = [f"validation: {n} added asset(s) fail check {c}" for c, n in failures.items()]
        if policy.gate.require_validation and added:
            validated = _validated_assets(change, tag)
            if missing := len(added - validated):
                reasons.append(
                    f"validation: {missing} added asset(s) never validated under "
                    f"{tag} (run lakehouse validate)"
                )
        return reasons

    return check


def dedup_check(policy: Policy, control: ControlPlane, head_version: Version) -> Check:
    """Dedup results must be for the branch's current assets (not older than its head)."""

    def check(change: Change) -> list[str]:
        latest = _latest_job(control, head_version, "dedup")
        if latest is None:
            return (
                ["dedup: the branch has no dedup results (run lakehouse dedup)"]
                if policy.gate.require_dedup
                else []
            )
        if (
            latest.properties.get("input_snapshots", {}).get(ASSETS)
            != head_version.snapshots[ASSETS]
        ):
            return [
                f"dedup: results of version {latest.version_id} are older than the "
                "branch head (run lakehouse dedup again)"
            ]
        return []

    return check


def audit_check(policy: Policy) -> Check:
    """The policy's SQL audits, run on exactly the content that would land."""
    from lakehouse.audits import failed_audits, run_audits

    def check(change: Change) -> list[str]:
        landing = replace(change.target, snapshots=dict(change.heads))
        return failed_audits(run_audits(change.catalog, landing, policy))

    return check


def _latest_job(control: ControlPlane, head: Version, job: str) -> Version | None:
    return next((v for v in control.ancestry(head) if v.properties.get("job") == job), None)


def _validated_assets(change: Change, policy_tag: str) -> set[str]:
    table = iceberg.load_tables(change.catalog, change.dataset)[CHECKS]
    rows = table.scan(snapshot_id=change.heads[CHECKS], selected_fields=("asset_id", "policy"))
    return {r["asset_id"] for r in rows.to_arrow().to_pylist() if r["policy"] == policy_tag}


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
