"""Plan a read of one dataset version on the driver: plain data that any worker can execute.

A plan names data files, row groups and row numbers, never a live catalog or table: the stock
Ray `read_iceberg` ships catalog objects and fails to serialize for `streaming_split` on the
SQL catalog (DESIGN.md). Workers open files through a pyiceberg FileIO rebuilt from `Storage`,
plain properties.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import groupby

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO, load_file_io

from lakehouse.api import Lakehouse
from lakehouse.config import Settings
from lakehouse.control import Version
from lakehouse.training.labels import read_labels
from lakehouse.training.options import ReadOptions
from lakehouse.training.scan import scan_rows
from lakehouse.training.schedule import Cut, Rows, schedule, shuffle_keys
from lakehouse.verify import data_files


@dataclass(frozen=True)
class Slice:
    """Rows of one row group, ascending."""

    path: str
    row_group: int
    rows: np.ndarray  # int32


@dataclass(frozen=True)
class TaskSpec:
    """One read task: the rows it reads, in what order, cut into which blocks."""

    slices: tuple[Slice, ...]
    order: np.ndarray | None  # take() indices from the slices' rows to output order
    blocks: tuple[int, ...]  # rows per output block
    annotations: pa.Array | None  # per output row, when label columns are asked
    out_bytes: int

    @property
    def rows(self) -> int:
        return sum(self.blocks)

    def files(self) -> Iterator[tuple[str, list[Slice]]]:
        """(path, slices) per data file, so each file is opened once."""
        for path, slices in groupby(self.slices, key=lambda s: s.path):
            yield path, list(slices)


@dataclass(frozen=True)
class Storage:
    """How to open the data files: FileIO properties and the table location, plain strings."""

    properties: tuple[tuple[str, str], ...]
    location: str

    def file_io(self) -> FileIO:
        return _file_io(self.properties, self.location)


@dataclass(frozen=True)
class ReadPlan:
    version: Version
    ref: str | None  # the ref asked for; None when a version or snapshot id was
    options: ReadOptions
    storage: Storage
    tasks: tuple[TaskSpec, ...]
    rows: int
    order_digest: str  # sha256 over the served asset ids, in serving order, one per line

    @property
    def out_bytes(self) -> int:
        return sum(task.out_bytes for task in self.tasks)


def plan_version(
    lake: Lakehouse | None,
    settings: Settings | None,
    dataset: str,
    ref: str | None,
    snapshot_id: int | None,
    version_id: int | None,
    options: ReadOptions,
) -> tuple[Lakehouse, ReadPlan]:
    """Open the lakehouse (given, or from settings), resolve the version named, plan it."""
    lake = lake or Lakehouse.open(settings)
    version = lake.resolve(dataset, ref=ref, snapshot_id=snapshot_id, version_id=version_id)
    if ref is None and snapshot_id is None and version_id is None:
        ref = "main"
    return lake, replace(plan_read(lake.catalog, version, options), ref=ref)


def plan_read(
    catalog: Catalog, version: Version, options: ReadOptions, io: FileIO | None = None
) -> ReadPlan:
    """Plan reading `version` as `options` ask; `io` overrides the table's FileIO (tests)."""
    table, files = data_files(catalog, version)
    io = io or table.io
    scanned = scan_rows(io, [f.file_path for f in files], options)
    rows = scanned.rows
    labels = None
    if options.label_columns or options.annotation_filters:
        labels = read_labels(catalog, version, options.annotation_filters)
        if labels.matching is not None:
            rows = rows.filter(pc.is_in(rows["asset_id"], value_set=labels.matching))
    asset_ids = rows["asset_id"].combine_chunks()
    seed = options.shuffle_seed
    planned = Rows(
        group=rows["group"].to_numpy(),
        row=rows["row"].to_numpy(),
        work=rows["work"].to_numpy(),
        out=rows["out"].to_numpy(),
        key=None if seed is None else shuffle_keys(asset_ids.to_pylist(), seed, len(rows)),
    )
    cuts = schedule(planned, options.task_bytes, options.block_bytes)
    annotations = labels.of(asset_ids) if labels and options.label_columns else None
    tasks = tuple(_task(cut, planned, scanned.groups, annotations) for cut in cuts)
    storage = Storage(tuple(sorted(table.io.properties.items())), table.metadata.location)
    return ReadPlan(version, None, options, storage, tasks, len(rows), _digest(asset_ids, cuts))


def _task(
    cut: Cut, rows: Rows, groups: list[tuple[str, int]], annotations: pa.Array | None
) -> TaskSpec:
    group, row = rows.group[cut.rows], rows.row[cut.rows]
    storage_order = np.lexsort((row, group))
    slices = []
    for g in np.unique(group).tolist():
        path, row_group = groups[g]
        slices.append(Slice(path, row_group, np.sort(row[group == g]).astype(np.int32)))
    order = None
    if not np.array_equal(storage_order, np.arange(len(storage_order))):
        order = np.empty_like(storage_order)
        order[storage_order] = np.arange(len(storage_order))
    out_bytes = int(rows.out[cut.rows].sum())
    taken = annotations.take(pa.array(cut.rows)) if annotations is not None else None
    return TaskSpec(tuple(slices), order, cut.blocks, taken, out_bytes)


def _digest(asset_ids: pa.Array, cuts: list[Cut]) -> str:
    digest = hashlib.sha256()
    for cut in cuts:
        served = asset_ids.take(pa.array(cut.rows)).to_pylist()
        digest.update("".join(f"{a}\n" for a in served).encode())
    return digest.hexdigest()


@lru_cache(maxsize=8)
def _file_io(properties: tuple[tuple[str, str], ...], location: str) -> FileIO:
    """One FileIO per storage per process: workers reuse its filesystem across tasks."""
    return load_file_io(dict(properties), location)
