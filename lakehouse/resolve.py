"""Resolve what a user names (a ref, a version id, a snapshot id) to one dataset version."""

from __future__ import annotations

from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import DatasetNotFound, RefNotFound, SnapshotNotFound, UsageError
from lakehouse.schema import TABLES


def resolve_version(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    ref: str | None = None,
    snapshot_id: int | None = None,
    version_id: int | None = None,
) -> Version:
    """The version named by exactly one of ref / snapshot_id / version_id (default: main)."""
    if sum(x is not None for x in (ref, snapshot_id, version_id)) > 1:
        raise UsageError("give only one of a ref, a snapshot id or a version id")
    if not control.refs(dataset):
        raise DatasetNotFound(dataset)
    if snapshot_id is not None:
        return _by_snapshot(catalog, control, dataset, snapshot_id)
    if version_id is not None:
        version = control.version(version_id)
        if version is None or version.dataset != dataset:
            raise RefNotFound(dataset, f"version {version_id}")
        return version
    name = ref or "main"
    found = control.ref(dataset, name)
    if found is None:
        raise RefNotFound(dataset, name)
    version = control.version(found.version_id)
    assert version is not None
    return version


def _by_snapshot(catalog: Catalog, control: ControlPlane, dataset: str, snapshot_id: int) -> Version:
    """The version that introduced `snapshot_id` (of any table); expired ids are refused."""
    tables = iceberg.load_tables(catalog, dataset)
    owner = next((n for n in TABLES if tables[n].snapshot_by_id(snapshot_id) is not None), None)
    if owner is None:
        raise SnapshotNotFound(dataset, snapshot_id)
    for version in reversed(control.history(dataset)):
        if version.snapshots.get(owner) == snapshot_id:
            return version
    raise SnapshotNotFound(
        dataset, snapshot_id,
        hint="it is an intermediate commit of an ingest, not a published version; "
        "`lakehouse log` lists version snapshot ids",
    )
