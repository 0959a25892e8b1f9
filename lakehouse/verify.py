"""Verify a dataset version: re-hash every stored image and recompute the version's fingerprint.

Iceberg and Parquet do not notice a flipped byte inside an uncompressed image (DESIGN.md); only
our per-row sha256 against `asset_id` does. Data files are read directly with pyarrow, so a
problem is reported with its data file and row. The unit of work is one row group, hashed
`BATCH_ROWS` rows at a time in a thread pool (hashlib releases the GIL); pyarrow holds about
twice a row group (~32 MB, schema.py) per thread, so memory does not grow with the table, but
for the asset ids kept for the duplicate check (~70 bytes per row). A file that cannot be read
is reported, never fatal.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import Version
from lakehouse.errors import LakehouseError, SnapshotNotFound
from lakehouse.fingerprint import (
    ANNOTATION_COLUMNS,
    SetHash,
    annotation_element,
    asset_element,
)
from lakehouse.schema import ANNOTATIONS, ASSETS

BATCH_ROWS = 64
# What a damaged or missing data file raises while being read (ArrowIOError is an OSError).
READ_ERRORS = (OSError, pa.ArrowException)
_COLUMNS = ["asset_id", "content"]


@dataclass(frozen=True)
class Mismatch:
    """One problem found: a row, or (asset_id '') the unreadable rest of a data file."""

    asset_id: str
    data_file: str
    row: int  # 0-based row number inside data_file (first unreadable row for 'unreadable_file')
    actual_sha256: str | None
    problem: str  # 'sha256_mismatch' | 'duplicate_row' | 'unreadable_file'
    detail: str = ""


@dataclass
class VerifyReport:
    dataset: str
    version_id: int
    assets: int  # rows read and hashed
    bytes: int  # content bytes hashed
    files: int  # data files of the version
    fingerprint_expected: str | None
    fingerprint_actual: str
    mismatches: list[Mismatch]
    seconds: float

    @property
    def ok(self) -> bool:
        """No problem row and the recomputed fingerprint is the recorded one (if any)."""
        return not self.mismatches and self.fingerprint_expected in (None, self.fingerprint_actual)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class _Part:
    """One row group of one data file: the unit of parallel work."""

    path: str
    row_group: int
    first_row: int
    metadata: pq.FileMetaData


@dataclass
class _PartResult:
    path: str
    first_row: int
    ids: list[pa.Array] = field(default_factory=list)  # asset_id chunks of the rows read
    bytes: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(chunk) for chunk in self.ids)


def data_files(catalog: Catalog, version: Version) -> tuple[Table, list[DataFile]]:
    """The `assets` table and the data files of the version's snapshot, sorted by path.

    `assets` is append-only (DESIGN.md), so a data file's rows are all rows of the version;
    a delete file would break that assumption and is refused rather than ignored.
    """
    table = iceberg.load_tables(catalog, version.dataset)[ASSETS]
    snapshot_id = version.snapshots[ASSETS]
    if table.snapshot_by_id(snapshot_id) is None:  # a scan of it would silently be empty
        raise SnapshotNotFound(version.dataset, snapshot_id, hint="expired from assets")
    tasks = list(table.scan(snapshot_id=snapshot_id).plan_files())
    if any(task.delete_files for task in tasks):
        raise LakehouseError(
            f"{version.dataset}.assets at snapshot {snapshot_id} has row-level delete files; "
            "lakehouse tables are append-only"
        )
    return table, sorted((task.file for task in tasks), key=lambda f: f.file_path)


def verify_version(
    catalog: Catalog,
    version: Version,
    threads: int = 2,
    on_progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Re-hash every asset of `version` and recompute its fingerprint; report every problem.

    `on_progress` receives the number of rows verified since its previous call.
    """
    started = time.perf_counter()
    table, files = data_files(catalog, version)
    paths = [f.file_path for f in files]
    fingerprint = SetHash()
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        footers = list(pool.map(lambda p: _read_footer(table.io, p), paths))
        results = []
        for result in pool.map(lambda p: _verify_part(table.io, p), list(_parts(footers))):
            results.append(result)  # folded while the pool still hashes later parts
            ids = (asset_id for chunk in result.ids for asset_id in chunk.to_pylist())
            fingerprint = fingerprint.add(asset_element(a) for a in ids)
            if on_progress is not None:
                on_progress(result.rows)
    fingerprint = fingerprint.add(_annotation_elements(catalog, version))
    unreadable = [f for f in footers if isinstance(f, Mismatch)]
    mismatches = unreadable + [m for r in results for m in r.mismatches] + _duplicates(results)
    return VerifyReport(
        dataset=version.dataset,
        version_id=version.version_id,
        assets=sum(r.rows for r in results),
        bytes=sum(r.bytes for r in results),
        files=len(files),
        fingerprint_expected=version.properties.get("fingerprint"),
        fingerprint_actual=fingerprint.digest(),
        mismatches=sorted(mismatches, key=lambda m: (m.data_file, m.row, m.problem)),
        seconds=time.perf_counter() - started,
    )


def _annotation_elements(catalog: Catalog, version: Version) -> Iterator[str]:
    """Annotation rows count in the fingerprint by id and content digest (metadata only)."""
    snapshot = version.snapshots.get(ANNOTATIONS)
    if snapshot is None:
        return
    table = catalog.load_table(f"{version.dataset}.{ANNOTATIONS}")
    scan = table.scan(snapshot_id=snapshot, selected_fields=tuple(ANNOTATION_COLUMNS))
    for batch in scan.to_arrow_batch_reader():
        for row in batch.to_pylist():
            yield annotation_element(row["annotation_id"], row["content_sha256"])


def check_rows(
    path: str, first_row: int, asset_ids: list[str], contents: list[bytes]
) -> list[Mismatch]:
    """Rows whose content does not hash to their asset_id."""
    found = []
    for offset, (asset_id, content) in enumerate(zip(asset_ids, contents, strict=True)):
        actual = hashlib.sha256(content).hexdigest()
        if actual != asset_id:
            found.append(Mismatch(asset_id, path, first_row + offset, actual, "sha256_mismatch"))
    return found


def _duplicates(results: list[_PartResult]) -> list[Mismatch]:
    """Rows whose asset_id already appeared on an earlier row (in data file and row order)."""
    chunks = [chunk for r in results for chunk in r.ids]
    if not chunks:
        return []
    counts = pc.value_counts(pa.chunked_array(chunks))
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated) == 0:
        return []
    first_seen: dict[str, tuple[str, int]] = {}
    found = []
    for result in (r for r in results if r.ids):
        ids = pa.concat_arrays(result.ids)
        for offset in pc.indices_nonzero(pc.is_in(ids, value_set=repeated)).to_pylist():
            asset_id, row = ids[offset].as_py(), result.first_row + offset
            if asset_id in first_seen:
                where = "{} row {}".format(*first_seen[asset_id])
                found.append(
                    Mismatch(
                        asset_id,
                        result.path,
                        row,
                        None,
                        "duplicate_row",
                        f"same asset_id as {where}",
                    )
                )
            else:
                first_seen[asset_id] = (result.path, row)
    return found


def read_batches(
    io: FileIO,
    path: str,
    columns: list[str],
    row_groups: list[int] | None = None,
    metadata: pq.FileMetaData | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream `columns` of one data file, BATCH_ROWS rows at a time."""
    with io.new_input(path).open() as handle:
        parquet = pq.ParquetFile(handle, metadata=metadata)
        yield from parquet.iter_batches(BATCH_ROWS, row_groups=row_groups, columns=columns)


def _read_footer(io: FileIO, path: str) -> tuple[str, pq.FileMetaData] | Mismatch:
    try:
        with io.new_input(path).open() as handle:
            return path, pq.ParquetFile(handle).metadata
    except READ_ERRORS as error:
        return Mismatch("", path, 0, None, "unreadable_file", f"footer: {error}")


def _parts(footers: list[tuple[str, pq.FileMetaData] | Mismatch]) -> Iterator[_Part]:
    for footer in footers:
        if isinstance(footer, Mismatch):
            continue
        path, metadata = footer
        first_row = 0
        for index in range(metadata.num_row_groups):
            yield _Part(path, index, first_row, metadata)
            first_row += metadata.row_group(index).num_rows


def _verify_part(io: FileIO, part: _Part) -> _PartResult:
    """Hash one row group; a read error stops it with an 'unreadable_file' at the failing row."""
    result = _PartResult(part.path, part.first_row)
    row = part.first_row
    try:
        for batch in read_batches(io, part.path, _COLUMNS, [part.row_group], part.metadata):
            ids, contents = batch.column(0), batch.column(1)
            result.mismatches += check_rows(part.path, row, ids.to_pylist(), contents.to_pylist())
            result.ids.append(ids)
            result.bytes += pc.sum(pc.binary_length(contents)).as_py() or 0
            row += batch.num_rows
    except READ_ERRORS as error:
        detail = f"row group {part.row_group}: {error}"
        result.mismatches.append(Mismatch("", part.path, row, None, "unreadable_file", detail))
    return result
