"""Reading Iceberg history: which data files a branch added since it forked, and their keys.

Every lakehouse write is an append, so "what a branch changed" is exactly the data files its
snapshots added. Manifests are read, never data files, except for the key columns asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile, ManifestEntryStatus
from pyiceberg.table import Table


def ancestors(table: Table, head: int, stop: int | None) -> Iterator[int]:
    """Snapshot ids from `head` back to (excluding) `stop`, newest first."""
    current: int | None = head
    while current is not None and current != stop:
        yield current
        snapshot = table.snapshot_by_id(current)
        if snapshot is None:
            raise LookupError(f"snapshot {current} is missing from {table.name()} metadata")
        current = snapshot.parent_snapshot_id


def added_files(table: Table, head: int, fork: int | None) -> list[DataFile]:
    """Data files added by the snapshots between `fork` (exclusive) and `head`, oldest first."""
    files: list[DataFile] = []
    for snapshot_id in reversed(list(ancestors(table, head, fork))):
        snapshot = table.snapshot_by_id(snapshot_id)
        assert snapshot is not None
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != snapshot_id:
                continue
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                if entry.status == ManifestEntryStatus.ADDED and entry.snapshot_id == snapshot_id:
                    files.append(entry.data_file)
    return files


def read_columns(table: Table, files: list[DataFile], columns: list[str]) -> Iterator[pa.RecordBatch]:
    """Stream only `columns` of the given data files."""
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as handle:
            parquet = pq.ParquetFile(handle)
            yield from parquet.iter_batches(columns=columns, batch_size=65_536)


def key_set(table: Table, files: list[DataFile], column: str) -> set[str]:
    keys: set[str] = set()
    for batch in read_columns(table, files, [column]):
        keys.update(v for v in batch.column(0).to_pylist() if v is not None)
    return keys
