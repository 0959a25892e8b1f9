"""Resolve what a user names (a ref, a version id, a snapshot id) to one dataset version."""

from __future__ import annotations

from datetime import UTC, datetime

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import (
    DatasetNotFound,
    RefNotFound,
    SnapshotNotFound,
    UsageError,
    VersionExpired,
)
from lakehouse.schema import TABLES


def resolve_version(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    ref: str | None = None,
    snapshot_id: int | None = None,
    version_id: int | None = None,
    as_of: datetime | None = None,
) -> Version:
    """The version named by a ref, a version id, a snapshot id, or a time (default: main).

    `as_of` combines with `ref`: the version that ref pointed at then. The version's
    snapshots must still exist: an expired one is an error, never an empty result.
    """
    if sum(x is not None for x in (snapshot_id, version_id, as_of or ref)) > 1:
        raise UsageError("give only one of a ref, a snapshot id, a version id or a time")
    if not control.refs(dataset):
        raise DatasetNotFound(dataset)
    if snapshot_id is not None:
        version = _by_snapshot(catalog, control, dataset, snapshot_id)
    elif version_id is not None:
        found_version = control.version(version_id)
        if found_version is None or found_version.dataset != dataset:
            raise RefNotFound(dataset, f"version {version_id}")
        version = found_version
    elif as_of is not None:
        version = _as_of(control, dataset, ref or "main", as_of)
    else:
        found = control.ref(dataset, ref or "main")
        if found is None:
            raise RefNotFound(dataset, ref or "main")
        head = control.version(found.version_id)
        assert head is not None
        version = head
    require_readable(catalog, version)
    return version


def require_readable(catalog: Catalog, version: Version) -> None:
    """Refuse a version whose snapshots maintenance has expired (it marks them). Readers that
    load the tables anyway check each snapshot too (`check_snapshots`), so a snapshot removed
    by another engine is an error there, never an empty result."""
    if version.properties.get("expired"):
        raise VersionExpired(version.dataset, version.version_id)


def check_snapshots(tables: dict[str, Table], version: Version) -> None:
    for name, snapshot_id in version.snapshots.items():
        if name in tables and tables[name].snapshot_by_id(snapshot_id) is None:
            raise VersionExpired(version.dataset, version.version_id)


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; 'Z' and a missing zone both mean UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"not an ISO-8601 time: {text!r} (e.g. 2026-11-01T00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_of(control: ControlPlane, dataset: str, ref: str, moment: datetime) -> Version:
    version_id = control.version_at(dataset, ref, moment.astimezone(UTC))
    if version_id is None:
        raise RefNotFound(dataset, f"{ref} as of {moment.isoformat()} (it did not exist yet)")
    version = control.version(version_id)
    assert version is not None
    return version


def _by_snapshot(
    catalog: Catalog, control: ControlPlane, dataset: str, snapshot_id: int
) -> Version:
    """The version that introduced `snapshot_id` (of any table); expired ids are refused."""
    tables = iceberg.load_tables(catalog, dataset)
    owner = next((n for n in TABLES if tables[n].snapshot_by_id(snapshot_id) is not None), None)
    if owner is None:
        raise SnapshotNotFound(dataset, snapshot_id)
    for version in reversed(control.history(dataset)):
        if version.snapshots.get(owner) == snapshot_id:
            return version
    raise SnapshotNotFound(
        dataset,
        snapshot_id,
        hint="it is an intermediate commit of an ingest, not a published version; "
        "`lakehouse log` lists version snapshot ids",
    )


def job_branch_head(control: ControlPlane, dataset: str, branch: str, job: str) -> Version:
    """The head of `branch`, where a job writes its results (never main: main changes only by
    publish)."""
    if branch == "main":
        raise UsageError(f"{job} writes its results to a branch; main changes only by publish")
    ref = control.ref(dataset, branch)
    if ref is None or ref.kind != "branch":
        raise UsageError(f"{dataset}@{branch} is not a branch")
    head = control.version(ref.version_id)
    assert head is not None
    return head
