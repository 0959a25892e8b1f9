"""Publish a work branch onto a dataset ref: one atomic dataset version, or a clear refusal.

The control plane's ref is the truth: it moves by compare-and-swap, so a lakehouse reader sees
all tables of a publish or none. When the ref moved since the branch forked, the branch's
appended files are re-applied on top of the new head (append-only history makes that safe);
rows that the other publish already added (same asset or quarantine id) are dropped and
their ledger rows say `already_present`, as if the runs had been sequential. The Iceberg refs
follow the control plane afterwards, monotonically, for other engines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import CommitConflict, RefNotFound
from lakehouse.fingerprint import (
    ANNOTATION_COLUMNS,
    SetHash,
    annotation_element,
    asset_element,
)
from lakehouse.history import (
    added_files,
    file_changes,
    key_set,
    live_files,
    read_columns,
)
from lakehouse.schema import ANNOTATIONS, ASSETS, QUARANTINE, SOURCES, TABLES

_MAX_ATTEMPTS = 50
FINGERPRINT_KEYS = ("fingerprint", "lthash", "elements", "asset_count", "annotation_count")

# A gate sees the target version the work will land on and the per-table heads it would
# publish; it returns a verdict to store with the version, or raises GateRefused.
Gate = Callable[[Version, Mapping[str, int]], Mapping[str, Any]]


def publish_work_branch(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    work_branch: str,
    fork: Version,
    target_ref: str,
    operation: str,
    message: str,
    actor: str,
    properties: Mapping[str, Any],
    gate: Gate | None = None,
    retry_when_moved: bool = True,
    rebase: bool = True,
) -> Version:
    """Move `target_ref` to the work branch's content and drop the work branch.

    A table the work never wrote to has no work branch: it keeps the target's snapshot.
    With `retry_when_moved` false, losing the compare-and-swap to a concurrent publish is a
    CommitConflict (the gate's verdict was for a target that no longer is the head). Work
    that is not a pure append (compaction) passes `rebase=False`: if the target moved at all,
    it is a CommitConflict.
    """
    for _ in range(_MAX_ATTEMPTS):
        current = _ref_version(control, dataset, target_ref)
        if current.version_id != fork.version_id and not rebase:
            iceberg.drop_branch_everywhere(catalog, dataset, work_branch)
            raise CommitConflict(f"{dataset}@{target_ref} moved meanwhile; nothing was changed")
        if current.version_id != fork.version_id:
            _rebase(catalog, dataset, work_branch, fork, current)
            fork = current
        heads, written = work_heads(catalog, dataset, work_branch, fork)
        verdict = dict(gate(current, heads)) if gate is not None else None
        stamp = {**properties, **fingerprint_properties(catalog, dataset, current, heads)}
        if verdict is not None:
            stamp["verdict"] = verdict
        try:
            version = control.advance_ref(
                dataset, target_ref, current.version_id, heads, operation, actor, message, stamp
            )
        except CommitConflict:
            if retry_when_moved:
                continue
            iceberg.drop_branch_everywhere(catalog, dataset, work_branch)
            raise CommitConflict(
                f"{dataset}@{target_ref} moved while publishing (another publish won); "
                "nothing was changed: publish again to re-apply on the new head"
            ) from None
        changed = tuple(t for t in TABLES if heads[t] != current.snapshots.get(t) or t in written)
        sync_iceberg_ref(catalog, control, dataset, target_ref, drop=(work_branch,), tables=changed)
        return version
    raise CommitConflict(
        f"{dataset}@{target_ref} kept moving; gave up after {_MAX_ATTEMPTS} attempts"
    )


def fingerprint_properties(
    catalog: Catalog, dataset: str, parent: Version, heads: Mapping[str, int]
) -> dict[str, Any]:
    """The new version's fingerprint: the parent's, plus the rows of data files the heads
    add, minus the rows of files they drop (a compaction does both and nets to zero).
    Covers asset ids and annotation content."""
    state = parent_fingerprint(parent)
    counts = {
        name: int(parent.properties.get(f"{name[:-1]}_count", 0)) for name in (ASSETS, ANNOTATIONS)
    }
    for name, columns, element in (
        (ASSETS, ["asset_id"], lambda r: asset_element(r["asset_id"])),
        (
            ANNOTATIONS,
            ANNOTATION_COLUMNS,
            lambda r: annotation_element(r["annotation_id"], r["content_sha256"]),
        ),
    ):
        head, base = heads[name], parent.snapshots.get(name)
        if head == base:
            continue
        table = catalog.load_table(f"{dataset}.{name}")
        gained, lost = file_changes(table, head, base)
        for files, sign in ((gained, 1), (lost, -1)):
            rows = [r for b in read_columns(table, files, columns) for r in b.to_pylist()]
            elements = (element(r) for r in rows)
            state = state.add(elements) if sign > 0 else state.remove(elements)
            counts[name] += sign * len(rows)
    return {
        "fingerprint": state.digest(),
        "lthash": state.encode(),
        "elements": state.count,
        "asset_count": counts[ASSETS],
        "annotation_count": counts[ANNOTATIONS],
    }


def parent_fingerprint(version: Version) -> SetHash:
    props = version.properties
    if "lthash" not in props:
        return SetHash()
    return SetHash.decode(props["lthash"], int(props["elements"]))


def work_heads(
    catalog: Catalog, dataset: str, work_branch: str, fork: Version
) -> tuple[dict[str, int], set[str]]:
    """Per-table heads of the work (the fork's snapshot where it wrote nothing), and the
    tables that have the work branch."""
    tables = iceberg.load_tables(catalog, dataset)
    heads, written = {}, set()
    for name in TABLES:
        ref = tables[name].metadata.refs.get(work_branch)
        heads[name] = ref.snapshot_id if ref is not None else fork.snapshots[name]
        if ref is not None:
            written.add(name)
    return heads, written


def sync_iceberg_ref(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    ref: str,
    drop: tuple[str, ...] = (),
    tables: tuple[str, ...] = TABLES,
) -> None:
    """Point the Iceberg branch `ref` of `tables` (default: all) at the control plane's
    current version. `lakehouse maintain` repairs any table a crash left behind."""

    def truth(table_name: str) -> Callable[[], int]:
        def read() -> int:
            return _ref_version(control, dataset, ref).snapshots[table_name]

        return read

    for name in tables:
        iceberg.set_branch(catalog, f"{dataset}.{name}", ref, truth(name), remove=drop)


def _ref_version(control: ControlPlane, dataset: str, ref: str) -> Version:
    found = control.ref(dataset, ref)
    if found is None:
        raise RefNotFound(dataset, ref)
    version = control.version(found.version_id)
    assert version is not None, f"ref {ref} points at missing version {found.version_id}"
    return version


def _rebase(catalog: Catalog, dataset: str, work_branch: str, fork: Version, onto: Version) -> None:
    """Re-apply what the work branch changed since `fork` on top of `onto`, per table.

    Appended files are appended again; files the branch dropped (a row rewrite such as a
    quarantine status change or a label edit) are dropped from `onto` too, and if `onto`
    no longer has them (someone else rewrote the same file) that is a CommitConflict.
    """
    tables = iceberg.load_tables(catalog, dataset)
    changes: dict[str, tuple[list[DataFile], list[DataFile]] | None] = {}
    for name in TABLES:
        ref = tables[name].metadata.refs.get(work_branch)
        changes[name] = (
            file_changes(tables[name], ref.snapshot_id, fork.snapshots[name]) if ref else None
        )
    clash: dict[str, set[str]] = {}
    for name, key in ((ASSETS, "asset_id"), (QUARANTINE, "quarantine_id")):
        gained = (changes[name] or ([], []))[0]
        ours = key_set(tables[name], gained, key)
        landed = added_files(tables[name], onto.snapshots[name], fork.snapshots[name])
        clash[name] = ours & key_set(tables[name], landed, key) if ours else set()
    rewrites = {
        ASSETS: _drop_keys("asset_id", clash[ASSETS]) if clash[ASSETS] else None,
        QUARANTINE: _drop_keys("quarantine_id", clash[QUARANTINE]) if clash[QUARANTINE] else None,
        SOURCES: _already_present(clash[ASSETS]) if clash[ASSETS] else None,
    }
    for name in TABLES:
        change = changes[name]
        if change is None:
            continue
        if name == QUARANTINE:
            from lakehouse.remediation import reapply_status_changes  # it imports publish

            if reapply_status_changes(
                catalog, tables[name], work_branch, fork.snapshots[name], onto.snapshots[name]
            ):
                continue  # rewritten rows (status changes) merge by quarantine id
        _reapply(
            catalog, tables[name], work_branch, onto.snapshots[name], *change, rewrites.get(name)
        )


def _reapply(
    catalog: Catalog,
    table: Table,
    work_branch: str,
    onto_snapshot: int,
    gained: list[DataFile],
    lost: list[DataFile],
    rewrite: Callable[[pa.RecordBatch], pa.RecordBatch] | None,
) -> None:
    identifier = ".".join(table.name())
    iceberg.set_branch(catalog, identifier, work_branch, onto_snapshot)
    if not gained and not lost:
        return
    live = live_files(catalog.load_table(identifier), onto_snapshot)
    if missing := [f.file_path for f in lost if f.file_path not in live]:
        raise CommitConflict(
            f"{identifier}: rows this branch rewrote were rewritten on the target meanwhile "
            f"({len(missing)} file(s)); nothing was changed: redo the change on a fresh branch"
        )
    properties = {"lakehouse.operation": "rebase"}
    rows = None
    if rewrite is not None:
        columns = table.schema().as_arrow().names
        kept = [
            b
            for b in (rewrite(batch) for batch in read_columns(table, gained, columns))
            if b.num_rows
        ]
        rows = pa.Table.from_batches(kept) if kept else None
        gained = []
    iceberg.replace_files(
        catalog, identifier, work_branch, add=gained, delete=lost, rows=rows, properties=properties
    )


def _drop_keys(column: str, keys: set[str]) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    values = pa.array(sorted(keys), pa.large_string())

    def rewrite(batch: pa.RecordBatch) -> pa.RecordBatch:
        hit = pc.is_in(batch.column(column).cast(pa.large_string()), value_set=values)
        return batch.filter(pc.invert(hit))

    return rewrite


def _already_present(asset_ids: set[str]) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """Ledger rows of assets that another publish added first become `already_present`."""
    values = pa.array(sorted(asset_ids), pa.large_string())

    def rewrite(batch: pa.RecordBatch) -> pa.RecordBatch:
        ids = batch.column("asset_id").cast(pa.large_string())
        hit = pc.fill_null(pc.is_in(ids, value_set=values), False)
        outcome = batch.column("outcome")
        flipped = pc.if_else(hit, pa.scalar("already_present", outcome.type), outcome)
        index = batch.schema.get_field_index("outcome")
        return batch.set_column(index, batch.schema.field(index), flipped)

    return rewrite
