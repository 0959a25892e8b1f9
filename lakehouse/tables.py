"""A dataset's Iceberg tables: open the catalog, create tables on first use, commit safely.

Every write goes through `append` / `set_branch` here, which retry the conflicts pyiceberg
does not retry itself (a commit on one branch racing a commit on another fails with a
sequence-number ValueError, see DESIGN.md).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

import pyarrow as pa
import sqlalchemy as sa
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.expressions import BooleanExpression
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table, Transaction
from pyiceberg.table.update.snapshot import ManageSnapshots

from lakehouse.config import CatalogSettings
from lakehouse.errors import DatasetNotFound, UsageError
from lakehouse.schema import PROPERTIES, SCHEMAS, TABLES

T = TypeVar("T")
_RETRIES = 30


def open_catalog(settings: CatalogSettings) -> Catalog:
    catalog = load_catalog(settings.name, **settings.pyiceberg_properties())
    engine = getattr(catalog, "engine", None)
    if engine is not None and engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_durability)
        engine.dispose()  # connections opened while loading get the pragmas on reconnect
    return catalog


def sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    """WAL with synchronous=NORMAL: a commit survives the process being killed at any moment
    (what crash-safe ingest relies on) but skips the fsync per commit that FULL pays (~20 ms
    each here, dozens per ingest); after an OS crash or power loss the last commits may be
    rolled back, never half-applied. Catalog and control plane share the file by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def validate_dataset_name(dataset: str) -> str:
    if not dataset or not dataset.replace("_", "").replace("-", "").isalnum():
        raise UsageError(f"invalid dataset name {dataset!r}: use letters, digits, '-' and '_' only")
    return dataset


def ensure_dataset(catalog: Catalog, dataset: str) -> dict[str, int]:
    """Create the namespace and tables that are missing; return each table's `main` snapshot.

    A new table gets an empty first snapshot on `main`, because pyiceberg refuses to write a
    branch of a table that has no snapshot, and a branch must start from main's head.
    """
    validate_dataset_name(dataset)
    try:
        catalog.create_namespace(dataset)
    except NamespaceAlreadyExistsError:
        pass
    except Exception:
        # Two processes creating the dataset at once: pyiceberg's SQL catalog checks before it
        # inserts, so the loser fails on the catalog's unique key (an IntegrityError).
        if not catalog.namespace_exists(dataset):
            raise
    heads: dict[str, int] = {}
    for name in TABLES:
        identifier = f"{dataset}.{name}"
        try:
            table = catalog.create_table(identifier, SCHEMAS[name], properties=PROPERTIES[name])
        except TableAlreadyExistsError:
            table = catalog.load_table(identifier)
        if table.metadata.refs.get("main") is None:
            table = with_retry(partial(_init_snapshot, catalog, table))
        heads[name] = table.metadata.refs["main"].snapshot_id
    return heads


def _init_snapshot(catalog: Catalog, table: Table) -> Table:
    table = catalog.load_table(table.name())
    if table.metadata.refs.get("main") is None:
        with (
            table.transaction() as tx,
            tx.update_snapshot(snapshot_properties={"lakehouse.operation": "create"}).fast_append(),
        ):
            pass
    return catalog.load_table(table.name())


def load_tables(
    catalog: Catalog, dataset: str, names: tuple[str, ...] = TABLES
) -> dict[str, Table]:
    try:
        return {name: catalog.load_table(f"{dataset}.{name}") for name in names}
    except (NoSuchTableError, NoSuchNamespaceError):
        raise DatasetNotFound(dataset) from None


def append(
    catalog: Catalog,
    identifier: str,
    data: pa.Table,
    branch: str,
    properties: Mapping[str, str],
    fork_from: int | None = None,
    table_properties: Mapping[str, str] | None = None,
) -> int:
    """Append `data` to `branch` as one snapshot; return the branch's new head.

    When the branch does not exist yet it is created at `fork_from` in the same commit
    (pyiceberg would otherwise create an orphan branch with no parent). `table_properties`
    that differ from the table's are set in the same commit too.
    """

    def attempt() -> int:
        table = catalog.load_table(identifier)
        with table.transaction() as tx:
            _prepare(tx, table, branch, fork_from, table_properties)
            tx.append(
                data.cast(table.schema().as_arrow()),
                snapshot_properties=dict(properties),
                branch=branch,
            )
        return table.metadata.refs[branch].snapshot_id  # the commit refreshed `table`

    return with_retry(attempt)


def append_files(
    catalog: Catalog,
    identifier: str,
    files: list[DataFile],
    branch: str,
    properties: Mapping[str, str],
    fork_from: int | None = None,
    table_properties: Mapping[str, str] | None = None,
) -> int:
    """`append` of data files written already (`lakehouse.datafiles`): a metadata-only commit."""

    def attempt() -> int:
        table = catalog.load_table(identifier)
        with table.transaction() as tx:
            _prepare(tx, table, branch, fork_from, table_properties)
            producer = tx.update_snapshot(snapshot_properties=dict(properties), branch=branch)
            with producer.fast_append() as update:
                for data_file in files:
                    update.append_data_file(data_file)
        return table.metadata.refs[branch].snapshot_id

    return with_retry(attempt)


def delete_rows(
    catalog: Catalog,
    identifier: str,
    row_filter: BooleanExpression,
    branch: str,
    properties: Mapping[str, str],
    fork_from: int | None = None,
) -> int:
    """Delete matching rows on `branch` (copy-on-write of the files holding them)."""

    def attempt() -> int:
        table = catalog.load_table(identifier)
        with table.transaction() as tx:
            if branch not in table.metadata.refs:
                _fork(tx, branch, fork_from)
            tx.delete(row_filter, snapshot_properties=dict(properties), branch=branch)
        return table.metadata.refs[branch].snapshot_id

    return with_retry(attempt)


def replace_files(
    catalog: Catalog,
    identifier: str,
    branch: str,
    add: list[DataFile],
    delete: list[DataFile],
    rows: pa.Table | None,
    properties: Mapping[str, str],
) -> None:
    """In one commit on `branch`: drop `delete`, add the written files `add`, append `rows`."""

    def attempt() -> None:
        table = catalog.load_table(identifier)
        with table.transaction() as tx:
            if add or delete:
                producer = tx.update_snapshot(snapshot_properties=dict(properties), branch=branch)
                with producer.overwrite() if delete else producer.fast_append() as update:
                    for data_file in delete:
                        update.delete_data_file(data_file)
                    for data_file in add:
                        update.append_data_file(data_file)
            if rows is not None:
                tx.append(
                    rows.cast(table.schema().as_arrow()),
                    snapshot_properties=dict(properties),
                    branch=branch,
                )

    with_retry(attempt)


def set_branch(
    catalog: Catalog,
    identifier: str,
    branch: str,
    snapshot_id: int | Callable[[], int],
    remove: tuple[str, ...] = (),
) -> None:
    """Point `branch` at a snapshot (create, fast-forward or rewind) and drop `remove` refs.

    `snapshot_id` may be a callable read after the table is loaded: the commit asserts the
    ref did not move since that load, so a late writer can never move a ref backwards to a
    value it read before someone else's move.
    """

    def attempt() -> None:
        table = catalog.load_table(identifier)
        wanted = snapshot_id() if callable(snapshot_id) else snapshot_id
        current = table.metadata.refs.get(branch)
        stale = [name for name in remove if name in table.metadata.refs]
        if (current is None or current.snapshot_id != wanted) or stale:
            with table.transaction() as tx:
                manage = ManageSnapshots(tx)
                if current is None or current.snapshot_id != wanted:
                    manage = manage.create_branch(wanted, branch)
                for name in stale:
                    manage = manage.remove_branch(name)
                manage.commit()

    with_retry(attempt)


def remove_branch(catalog: Catalog, identifier: str, branch: str) -> None:
    def attempt() -> None:
        table = catalog.load_table(identifier)
        if branch in table.metadata.refs:
            table.manage_snapshots().remove_branch(branch).commit()

    with_retry(attempt)


def drop_branch_everywhere(catalog: Catalog, dataset: str, branch: str) -> None:
    for name in TABLES:
        remove_branch(catalog, f"{dataset}.{name}", branch)


def _prepare(
    tx: Transaction,
    table: Table,
    branch: str,
    fork_from: int | None,
    table_properties: Mapping[str, str] | None,
) -> None:
    """Set the `table_properties` that differ, and create `branch` at `fork_from` if absent."""
    changed = {k: v for k, v in (table_properties or {}).items() if table.properties.get(k) != v}
    if changed:
        tx.set_properties(changed)
    if branch not in table.metadata.refs:
        _fork(tx, branch, fork_from)


def _fork(tx: Transaction, branch: str, fork_from: int | None) -> None:
    if fork_from is None:
        raise LookupError(f"branch {branch!r} does not exist and no fork point was given")
    ManageSnapshots(tx).create_branch(fork_from, branch).commit()


def with_retry(attempt: Callable[[], T]) -> T:
    for tries in range(_RETRIES):
        try:
            return attempt()
        except CommitFailedException:
            pass
        except ValueError as exc:
            # pyiceberg: "Cannot add snapshot with sequence number N older than last sequence
            # number M" when another branch of the same table committed in between.
            if "sequence number" not in str(exc):
                raise
        time.sleep(min(2.0, 0.02 * 2**tries) * random.uniform(0.5, 1.0))
    return attempt()
