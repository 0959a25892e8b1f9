"""Reading Iceberg history: which data files a branch added since it forked, and their keys.

Every lakehouse write is an append, so "what a branch changed" is exactly the data files its
snapshots added. Manifests are read, never data files, except for the key columns asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.manifest import DataFile, ManifestEntryStatus, ManifestFile
from pyiceberg.table import Table

_MANIFEST_CACHE: dict[str, dict[str, DataFile]] = {}
_MANIFEST_CACHE_SIZE = 512


def live_files(table: Table, snapshot_id: int | None) -> dict[str, DataFile]:
    """Data files visible in a snapshot, by path (manifests only, no data read)."""
    if snapshot_id is None:
        return {}
    snapshot = table.snapshot_by_id(snapshot_id)
    if snapshot is None:
        raise LookupError(f"snapshot {snapshot_id} is missing from {table.name()} metadata")
    files: dict[str, DataFile] = {}
    for manifest in snapshot.manifests(table.io):
        files.update(_manifest_files(table, manifest))
    return files


def _manifest_files(table: Table, manifest: ManifestFile) -> dict[str, DataFile]:
    """Live entries of one manifest. Manifests are immutable files, so they are cached by
    path: a publish reads the same ones for the rebase, the gate and the fingerprint."""
    cached = _MANIFEST_CACHE.get(manifest.manifest_path)
    if cached is None:
        cached = {
            entry.data_file.file_path: entry.data_file
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True)
            if entry.status != ManifestEntryStatus.DELETED
        }
        if len(_MANIFEST_CACHE) >= _MANIFEST_CACHE_SIZE:
            _MANIFEST_CACHE.pop(next(iter(_MANIFEST_CACHE)))
        _MANIFEST_CACHE[manifest.manifest_path] = cached
    return cached


def file_changes(
    table: Table, head: int, base: int | None
) -> tuple[list[DataFile], list[DataFile]]:
    """(files visible at `head` but not at `base`, files visible at `base` but not at `head`)."""
    after, before = live_files(table, head), live_files(table, base)
    return (
        [f for p, f in after.items() if p not in before],
        [f for p, f in before.items() if p not in after],
    )


def added_files(table: Table, head: int, base: int | None) -> list[DataFile]:
    """Data files visible at `head` but not at `base`.

    A set difference of two snapshots' manifests, so it needs neither an ancestry walk nor
    the intermediate snapshots (which maintenance may have expired).
    """
    return file_changes(table, head, base)[0]


def read_columns(
    table: Table, files: list[DataFile], columns: list[str]
) -> Iterator[pa.RecordBatch]:
    """Stream only `columns` of the given data files."""
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as handle:
            parquet = pq.ParquetFile(handle)
            yield from parquet.iter_batches(columns=columns, batch_size=65_536)


def key_values(table: Table, files: list[DataFile], column: str) -> Iterator[str]:
    """Every non-null value of `column` in the files, row by row (duplicates kept)."""
    for batch in read_columns(table, files, [column]):
        yield from (v for v in batch.column(0).to_pylist() if v is not None)


def key_set(table: Table, files: list[DataFile], column: str) -> set[str]:
    return set(key_values(table, files, column))
