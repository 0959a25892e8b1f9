"""Execute one planned read task in a worker: read row groups, order rows, decode, yield blocks.

Only the projected Parquet columns are read (`content` only when bytes or pixels are asked),
one data file open at a time. Memory per task: the asked columns of the task's rows, as read
(compressed images), plus one output block (`block_bytes` of pixels); never the whole dataset.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.io import FileIO

from lakehouse.training.decode import decode_images
from lakehouse.training.labels import categories
from lakehouse.training.options import CONTENT, IMAGE, ReadOptions
from lakehouse.training.plan import TaskSpec


def read_blocks(task: TaskSpec, options: ReadOptions, io: FileIO) -> Iterator[pa.Table]:
    """The task's output blocks, in serving order, with exactly `options.columns`."""
    rows = _read_rows(task, options.read_columns(), io)
    start = 0
    for count in task.blocks:
        labels = task.annotations.slice(start, count) if task.annotations is not None else None
        yield _block(rows.slice(start, count), labels, options)
        start += count


def _read_rows(task: TaskSpec, columns: list[str], io: FileIO) -> pa.Table:
    parts = []
    for path, slices in task.files():
        with io.new_input(path).open() as handle:
            parquet = pq.ParquetFile(handle, pre_buffer=True)
            for part in slices:
                found = parquet.read_row_group(part.row_group, columns=columns)
                parts.append(_pick(found, part.rows))
    rows = pa.concat_tables(parts)
    return rows.take(task.order) if task.order is not None else rows


def _pick(found: pa.Table, rows: np.ndarray) -> pa.Table:
    """`rows` (ascending) of a row group: a zero-copy slice when they are consecutive."""
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
        return found.slice(int(rows[0]), len(rows))
    return found.take(rows)


def _block(rows: pa.Table, annotations: pa.Array | None, options: ReadOptions) -> pa.Table:
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in options.columns:
        if name == IMAGE and options.decodes:
            assert options.decode is not None
            columns[name] = _tensor(decode_images(rows, options.decode, options.resize))
        elif name in (IMAGE, CONTENT):
            columns[name] = rows[CONTENT]
        elif name == "annotations":
            columns[name] = annotations
        elif name == "category":
            assert annotations is not None
            columns[name] = categories(annotations)
        else:
            columns[name] = rows[name]
    return pa.table(columns)


def _tensor(pixels: np.ndarray | list[np.ndarray]) -> pa.Array:
    """Pixels as Ray's Arrow tensor column (zero-copy from one contiguous array when resized)."""
    from ray.data.extensions import ArrowTensorArray

    return ArrowTensorArray.from_numpy(pixels)
