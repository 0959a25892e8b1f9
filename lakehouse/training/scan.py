"""The driver's metadata pass: which rows of which row groups to serve, and their sizes.

Reads only small metadata columns (never `content`) of every row group of the version's data
files, applies the `assets` filters, and sizes every row from its pixel dimensions (width x
height x channels), not from compressed bytes: a JPEG row group of 32 MB decodes to ~450 MB.
Row groups without a row to serve are never read by a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io import FileIO

from lakehouse.training.options import CONTENT, IMAGE, METADATA_ROW_BYTES, ReadOptions, matches

_SIZES = ("asset_id", "width", "height", "channels", "byte_size")


@dataclass(frozen=True)
class Scanned:
    """Row groups in storage order and the rows to serve, sorted by (group, row)."""

    groups: list[tuple[str, int]]  # (data file path, row group index)
    rows: pa.Table  # group: int32, row: int32, asset_id: string, work: int64, out: int64


def scan_rows(io: FileIO, paths: Sequence[str], options: ReadOptions, threads: int = 4) -> Scanned:
    """The rows of `paths` (sorted data file paths) that pass the `assets` filters."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        per_file = list(pool.map(lambda path: _scan_file(io, path, options), paths))
    groups: list[tuple[str, int]] = []
    parts = []
    for path, row_groups in zip(paths, per_file, strict=True):
        for index, part in enumerate(row_groups):
            if part.num_rows:
                group = pa.array(np.full(part.num_rows, len(groups), dtype=np.int32))
                parts.append(part.add_column(0, "group", group))
            groups.append((path, index))
    if not parts:
        empty = pa.schema(
            [
                ("group", pa.int32()),
                ("row", pa.int32()),
                ("asset_id", pa.string()),
                ("work", pa.int64()),
                ("out", pa.int64()),
            ]
        )
        return Scanned(groups, empty.empty_table())
    return Scanned(groups, pa.concat_tables(parts).combine_chunks())


def _scan_file(io: FileIO, path: str, options: ReadOptions) -> list[pa.Table]:
    columns = list(dict.fromkeys([*_SIZES, *options.asset_filters]))
    with io.new_input(path).open() as handle:
        parquet = pq.ParquetFile(handle, pre_buffer=True)
        return [
            _rows(parquet.read_row_group(index, columns=columns), options)
            for index in range(parquet.metadata.num_row_groups)
        ]


def _rows(found: pa.Table, options: ReadOptions) -> pa.Table:
    keep = np.ones(found.num_rows, dtype=bool)
    for column, values in options.asset_filters.items():
        keep &= matches(found[column], values).to_numpy(zero_copy_only=False)
    found = found.filter(pa.array(keep))
    work, out = _sizes(found, options)
    return pa.table(
        {
            "row": pa.array(np.flatnonzero(keep).astype(np.int32)),
            "asset_id": found["asset_id"].cast(pa.string()),
            "work": pa.array(work),
            "out": pa.array(out),
        }
    )


def _sizes(rows: pa.Table, options: ReadOptions) -> tuple[np.ndarray, np.ndarray]:
    """(work, out) bytes of each row: pixels to decode and bytes served."""
    n = rows.num_rows
    if options.decodes:
        pixels = rows["width"].to_numpy().astype(np.int64) * rows["height"].to_numpy()
        work = pixels * rows["channels"].to_numpy()
        if options.resize is not None:
            out = np.full(n, options.resize[0] * options.resize[1] * options.channels)
        else:
            out = pixels * options.channels
    elif IMAGE in options.columns or CONTENT in options.columns:
        work = out = rows["byte_size"].to_numpy().astype(np.int64)
    else:
        work = out = np.zeros(n, dtype=np.int64)
    return work + METADATA_ROW_BYTES, out.astype(np.int64) + METADATA_ROW_BYTES
