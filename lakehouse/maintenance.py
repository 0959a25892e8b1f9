"""Keep history cheap: expire snapshots no version needs, delete unreferenced files, compact.

pyiceberg's commit cost grows with the snapshots in a table's metadata and its scan planning
with the manifests (DESIGN.md), and `expire_snapshots` deletes no files. So:
- `expire` keeps the snapshots of retained versions (every ref head, every tag, the fork
  points of branches and running ingests, and the newest `keep_versions` versions) and
  expires the rest, including the per-batch snapshots of ingests; versions that lose a
  snapshot are marked expired and refuse time travel with a clear error.
- `collect_garbage` deletes data files that no remaining snapshot references (after a grace
  period, so files of a commit still in flight are never touched).
- `compact` rewrites the small files of `main` into few large ones as a new version with the
  same content and fingerprint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pyarrow as pa
from pyarrow import fs
from pyiceberg.catalog import Catalog
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import CommitConflict
from lakehouse.history import live_files, read_columns
from lakehouse.publish import publish_work_branch
from lakehouse.schema import TABLES


@dataclass
class MaintenanceReport:
    dataset: str
    expired_versions: list[int] = field(default_factory=list)
    expired_snapshots: dict[str, int] = field(default_factory=dict)
    deleted_files: int = 0
    deleted_bytes: int = 0
    compacted: dict[str, list[int]] = field(default_factory=dict)  # table -> [before, after]
    forgotten_digests: int = 0  # remembered file digests of this host's gone or changed files
    version_id: int | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def retained_versions(control: ControlPlane, dataset: str, keep_versions: int) -> set[int]:
    keep = {v.version_id for v in control.history(dataset, keep_versions)}
    for ref in control.refs(dataset):
        keep.add(ref.version_id)
        if ref.base_version_id is not None:
            keep.add(ref.base_version_id)
    keep.update(run.base_version_id for run in control.running_ingests(dataset))
    return keep


def expire(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    keep_versions: int,
    report: MaintenanceReport,
) -> None:
    """Expire every snapshot that no retained version and no Iceberg ref needs."""
    keep_ids = retained_versions(control, dataset, keep_versions)
    retained = [v for v in control.history(dataset) if v.version_id in keep_ids]
    for name in TABLES:
        identifier = f"{dataset}.{name}"
        table = catalog.load_table(identifier)
        needed = {v.snapshots[name] for v in retained}
        needed.update(ref.snapshot_id for ref in table.metadata.refs.values())
        doomed = [s.snapshot_id for s in table.metadata.snapshots if s.snapshot_id not in needed]
        if doomed:
            iceberg.with_retry(partial(_expire, catalog, identifier, doomed))
        report.expired_snapshots[name] = len(doomed)
    tables = iceberg.load_tables(catalog, dataset)
    gone = [
        v.version_id
        for v in control.history(dataset)
        if not v.properties.get("expired")
        and any(tables[n].snapshot_by_id(s) is None for n, s in v.snapshots.items())
    ]
    control.mark_expired(gone)
    report.expired_versions = gone


def _expire(catalog: Catalog, identifier: str, snapshot_ids: list[int]) -> None:
    catalog.load_table(identifier).maintenance.expire_snapshots().by_ids(snapshot_ids).commit()


def collect_garbage(
    catalog: Catalog, dataset: str, grace_seconds: float, report: MaintenanceReport
) -> None:
    """Delete data files that no snapshot of the table references any more."""
    for name in TABLES:
        table = catalog.load_table(f"{dataset}.{name}")
        referenced = _referenced_paths(table)
        filesystem, root = fs.FileSystem.from_uri(f"{table.location()}/data")
        cutoff = time.time() - grace_seconds
        for info in filesystem.get_file_info(
            fs.FileSelector(root, recursive=True, allow_not_found=True)
        ):
            if info.type != fs.FileType.File or not info.path.endswith(".parquet"):
                continue
            if _uri_like(table, info.path) in referenced:
                continue
            if info.mtime is not None and info.mtime.timestamp() > cutoff:
                continue
            filesystem.delete_file(info.path)
            report.deleted_files += 1
            report.deleted_bytes += info.size or 0


def compact(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    actor: str,
    small_bytes: int,
    target_bytes: int,
    report: MaintenanceReport,
) -> Version | None:
    """Rewrite `main`'s small data files into files of about `target_bytes`, per table.

    Runs on a work branch and lands as a version only if `main` did not move meanwhile; the
    content (and so the fingerprint) is unchanged.
    """
    found = control.ref(dataset, "main")
    assert found is not None
    main = control.version(found.version_id)
    assert main is not None
    tables = iceberg.load_tables(catalog, dataset)
    work = f"lakehouse-compact-{uuid.uuid4().hex[:12]}"
    for name in TABLES:
        files = live_files(tables[name], main.snapshots[name])
        small = [f for f in files.values() if f.file_size_in_bytes < small_bytes]
        if len(small) < 2:
            continue
        _rewrite(catalog, tables[name], work, main.snapshots[name], small, target_bytes)
        report.compacted[name] = [
            len(files),
            len(files)
            - len(small)
            + _files_written(catalog, f"{dataset}.{name}", work, main.snapshots[name]),
        ]
    if not report.compacted:
        return None
    try:
        version = publish_work_branch(
            catalog,
            control,
            dataset,
            work,
            main,
            "main",
            operation="compact",
            message="compact small files",
            actor=actor,
            properties={"compacted": report.compacted},
            rebase=False,
        )
    except CommitConflict:
        report.compacted = {}
        raise
    report.version_id = version.version_id
    return version


def _rewrite(
    catalog: Catalog, table: Table, work: str, base: int, files: list[DataFile], target_bytes: int
) -> None:
    """On branch `work`: drop `files` and append their rows as few large files, one commit."""
    identifier = ".".join(table.name())
    schema = table.schema().as_arrow()
    iceberg.set_branch(catalog, identifier, work, base)
    fresh = catalog.load_table(identifier)
    with fresh.transaction() as tx:
        with tx.update_snapshot(
            snapshot_properties={"lakehouse.operation": "compact"}, branch=work
        ).overwrite() as overwrite:
            for data_file in files:
                overwrite.delete_data_file(data_file)
        for chunk in _chunks(read_columns(table, files, schema.names), target_bytes):
            tx.append(
                chunk.cast(schema),
                snapshot_properties={"lakehouse.operation": "compact"},
                branch=work,
            )


def _chunks(batches: Iterator[pa.RecordBatch], target_bytes: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.nbytes
        if size >= target_bytes:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _files_written(catalog: Catalog, identifier: str, work: str, base: int) -> int:
    from lakehouse.history import added_files

    table = catalog.load_table(identifier)
    return len(added_files(table, table.metadata.refs[work].snapshot_id, base))


def _referenced_paths(table: Table) -> set[str]:
    paths: set[str] = set()
    seen_manifests: set[str] = set()
    for snapshot in table.metadata.snapshots:
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                paths.add(entry.data_file.file_path)
    return paths


def _uri_like(table: Table, path: str) -> str:
    """pyarrow lists bare paths; Iceberg records URIs (file:///..., s3://...)."""
    location = table.location()
    scheme = location.split("://", 1)[0] + "://" if "://" in location else ""
    if scheme == "file://":
        return "file://" + path
    return scheme + path if scheme else path
