"""`lakehouse validate`: re-check a branch's assets against a policy on Ray, write `checks`.

Workers read row groups of the assets' Parquet files themselves (plain FileIO properties in,
never live catalog objects) and run the same integrity decode and header checks as ingest,
plus an image statistic for damage no decoder reports. The results land as one commit of
`checks` on the branch, with lineage properties. Incremental by default: only assets added
since the branch's last validation under the same policy are read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.io import load_file_io

import lakehouse
from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import CorruptMedia
from lakehouse.history import added_files, live_files
from lakehouse.lineage import record_version, version_inputs
from lakehouse.media import decode_verified, probe, sniff
from lakehouse.policy import ImagePolicy, Policy, check_header
from lakehouse.publish import publish_work_branch
from lakehouse.resolve import job_branch_head
from lakehouse.schema import ASSETS, CHECKS, CHECKS_SCHEMA

POLICY_CHECKS = (
    "format_not_allowed",
    "too_small",
    "too_many_pixels",
    "channels_not_allowed",
    "bit_depth_not_allowed",
    "color_mode_not_allowed",
    "aspect_ratio",
    "multi_frame",
    "extension_mismatch",
    "orientation_not_allowed",
)
CHECK_NAMES = ("integrity", "suspicious_fill", *POLICY_CHECKS)
_FILL_LEVEL, _FILL_TOLERANCE, _FILL_MAX_ROWS = 128, 1, 2
_COLUMNS = ["asset_id", "content", "source_uri"]


@dataclass
class ValidateReport:
    dataset: str
    ref: str
    run_id: str
    version_id: int | None
    policy: str
    incremental: bool
    assets_checked: int
    assets_failed: int
    failures: dict[str, int] = field(default_factory=dict)  # check -> failing assets
    audits: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def suspicious_fill(gray: np.ndarray) -> int:
    """Rows at the bottom that are flat mid-gray: libjpeg fills data it could not decode with
    gray, and some entropy damage decodes without any warning (DESIGN.md)."""
    rows = 0
    for row in gray[::-1]:
        if np.abs(row.astype(np.int16) - _FILL_LEVEL).max() > _FILL_TOLERANCE:
            break
        rows += 1
    return rows


def asset_checks(
    content: bytes, source_uri: str, policy: ImagePolicy
) -> list[tuple[str, bool, float | None, str]]:
    """(check, passed, value, detail) for every check of one asset; never raises."""
    name = PurePosixPath(unquote(urlparse(source_uri).path)).name
    fmt = sniff(content[:64])
    if fmt is None:
        return [("integrity", False, None, "not_an_image")]
    try:
        header = probe(content, fmt)
    except CorruptMedia as exc:
        return [("integrity", False, None, str(exc))]
    violations = {v.code: v.detail for v in check_header(policy, header, name)}
    results: list[tuple[str, bool, float | None, str]] = [
        (code, code not in violations, None, violations.get(code, "")) for code in POLICY_CHECKS
    ]
    if "too_many_pixels" in violations:  # never decode a bomb
        return [("integrity", False, None, "not decoded: too_many_pixels"), *results]
    try:
        gray = decode_verified(content, header, reduced=True)
    except CorruptMedia as exc:
        return [("integrity", False, None, str(exc)), *results]
    fill = suspicious_fill(gray)
    return [
        ("integrity", True, None, ""),
        (
            "suspicious_fill",
            fill < _FILL_MAX_ROWS,
            float(fill),
            f"{fill} flat gray rows at the bottom" if fill >= _FILL_MAX_ROWS else "",
        ),
        *results,
    ]


def validate_part(
    path: str, row_groups: list[int], io_properties: dict[str, str], policy: ImagePolicy
) -> list[tuple[str, str, bool, float | None, str]]:
    """Ray task: check the assets in some row groups of one data file."""
    import cv2

    cv2.setNumThreads(1)
    io = load_file_io(io_properties, location=path)
    out: list[tuple[str, str, bool, float | None, str]] = []
    with io.new_input(path).open() as handle:
        parquet = pq.ParquetFile(handle)
        for group in row_groups:
            table = parquet.read_row_group(group, columns=_COLUMNS)
            for asset_id, content, uri in zip(
                *(table.column(c).to_pylist() for c in _COLUMNS), strict=True
            ):
                out.extend((asset_id, *result) for result in asset_checks(content, uri, policy))
    return out


def last_validation(control: ControlPlane, head: Version, policy_tag: str) -> Version | None:
    """The newest validate version in `head`'s ancestry under the same policy."""
    return next(
        (
            v
            for v in control.ancestry(head)
            if v.operation == "validate" and v.properties.get("policy") == policy_tag
        ),
        None,
    )


def run_validate(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    branch: str,
    policy: Policy,
    actor: str,
    submit: Callable[..., Any],
    collect: Callable[[list[Any]], Iterable[Any]],
    incremental: bool = True,
    audit_runner: Callable[[Version], dict[str, dict[str, Any]]] | None = None,
) -> ValidateReport:
    started = time.perf_counter()
    head = job_branch_head(control, dataset, branch, "validate")
    policy_tag = f"{policy.name}@{policy.digest}"
    previous = last_validation(control, head, policy_tag) if incremental else None
    tables = iceberg.load_tables(catalog, dataset)
    since = previous.properties["validated_assets_snapshot"] if previous else None
    files = (
        added_files(tables[ASSETS], head.snapshots[ASSETS], since)
        if since
        else list(live_files(tables[ASSETS], head.snapshots[ASSETS]).values())
    )

    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    io_properties = dict(tables[ASSETS].io.properties)
    handles = [
        submit(path, groups, io_properties) for path, groups in _parts(tables[ASSETS], files)
    ]
    rows = [row for part in collect(handles) for row in part]
    report = _summarise(dataset, branch, run_id, policy_tag, incremental, rows)
    if audit_runner is not None:
        report.audits = audit_runner(head)
    checked_at = datetime.now(UTC)
    data = pa.table(
        {
            "asset_id": [r[0] for r in rows],
            "check": [r[1] for r in rows],
            "passed": [r[2] for r in rows],
            "value": [r[3] for r in rows],
            "detail": [r[4] for r in rows],
            "policy": [policy_tag] * len(rows),
            "run_id": [run_id] * len(rows),
            "checked_at": [checked_at] * len(rows),
        },
        schema=CHECKS_SCHEMA.as_arrow(),
    )
    work = f"lakehouse-validate-{run_id}"
    properties = {
        "lakehouse.operation": "validate",
        "lakehouse.run_id": run_id,
        "lakehouse.policy": policy_tag,
        "lakehouse.input_snapshot": str(head.snapshots[ASSETS]),
        "lakehouse.tool_version": lakehouse.__version__,
    }
    if rows:
        iceberg.append(
            catalog, f"{dataset}.{CHECKS}", data, work, properties, fork_from=head.snapshots[CHECKS]
        )
    version = publish_work_branch(
        catalog,
        control,
        dataset,
        work,
        head,
        branch,
        operation="validate",
        message=f"validate {report.assets_checked} assets ({policy_tag})",
        actor=actor,
        properties={
            "job": "validate",
            "run_id": run_id,
            "policy": policy_tag,
            "parameters": {"incremental": incremental},
            "input_snapshots": dict(head.snapshots),
            "validated_assets_snapshot": head.snapshots[ASSETS],
            "code_version": lakehouse.__version__,
            "assets_checked": report.assets_checked,
            "assets_failed": report.assets_failed,
            "failures": report.failures,
            "audits": report.audits,
        },
    )
    report.version_id = version.version_id
    record_version(
        control,
        "validate",
        {"run_id": run_id, "policy": policy_tag, "incremental": incremental},
        actor,
        version_inputs(head, [ASSETS]),
        head,
        version,
    )
    report.seconds = time.perf_counter() - started
    return report


def _summarise(
    dataset: str,
    branch: str,
    run_id: str,
    policy_tag: str,
    incremental: bool,
    rows: list[tuple[str, str, bool, float | None, str]],
) -> ValidateReport:
    checked, failed_assets = set(), set()
    failures: dict[str, set[str]] = {}
    for asset_id, check, passed, _, _ in rows:
        checked.add(asset_id)
        if not passed:
            failed_assets.add(asset_id)
            failures.setdefault(check, set()).add(asset_id)
    return ValidateReport(
        dataset,
        branch,
        run_id,
        None,
        policy_tag,
        incremental,
        len(checked),
        len(failed_assets),
        {k: len(v) for k, v in sorted(failures.items())},
    )


def _parts(table: Any, files: list[Any], target_rows: int = 256) -> Iterator[tuple[str, list[int]]]:
    """(file, row groups) units of about `target_rows` rows: few, large Ray tasks."""
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as handle:
            metadata = pq.ParquetFile(handle).metadata
        groups: list[int] = []
        rows = 0
        for index in range(metadata.num_row_groups):
            groups.append(index)
            rows += metadata.row_group(index).num_rows
            if rows >= target_rows:
                yield data_file.file_path, groups
                groups, rows = [], 0
        if groups:
            yield data_file.file_path, groups


def blocking_failures(
    catalog: Catalog,
    dataset: str,
    head: Mapping[str, int],
    asset_ids: set[str],
    policy_tag: str,
    warn_only: set[str],
) -> dict[str, int]:
    """Failing checks (latest run per asset, under `policy_tag`) of the given assets."""
    if not asset_ids:
        return {}
    table = iceberg.load_tables(catalog, dataset)[CHECKS]
    rows = (
        table.scan(
            snapshot_id=head[CHECKS],
            selected_fields=("asset_id", "check", "passed", "policy", "run_id", "checked_at"),
        )
        .to_arrow()
        .to_pylist()
    )
    latest: dict[str, str] = {}
    stamps: dict[str, datetime] = {}
    for row in rows:
        mine = row["asset_id"] in asset_ids and row["policy"] == policy_tag
        if mine and (row["asset_id"] not in stamps or row["checked_at"] > stamps[row["asset_id"]]):
            stamps[row["asset_id"]], latest[row["asset_id"]] = row["checked_at"], row["run_id"]
    failures: dict[str, set[str]] = {}
    for row in rows:
        if (
            latest.get(row["asset_id"]) == row["run_id"]
            and not row["passed"]
            and row["check"] not in warn_only
        ):
            failures.setdefault(row["check"], set()).add(row["asset_id"])
    return {check: len(ids) for check, ids in sorted(failures.items())}
