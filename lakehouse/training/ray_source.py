"""A dataset version as a Ray Dataset: a custom Datasource whose read tasks are planned rows.

The plan is made on the driver when `ray_dataset` is called; each Ray read task executes one
planned task (`reader.read_blocks`): reads the projected columns of its row groups, decodes and
resizes in the worker, and streams blocks of about `block_bytes` of pixels. The datasource holds
plain data only, so it pickles for `streaming_split` and Ray Train (the stock `read_iceberg`
does not on the SQL catalog, DESIGN.md). Blocks keep plan order (`preserve_order`), so the
order never depends on how many workers ran the tasks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from typing import Any

import cv2
import pyarrow as pa
import ray.data
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from lakehouse.api import Lakehouse
from lakehouse.config import Settings
from lakehouse.raykit import ensure_ray
from lakehouse.training.options import (
    BLOCK_BYTES,
    DEFAULT_COLUMNS,
    TASK_BYTES,
    FilterValue,
    ReadOptions,
)
from lakehouse.training.plan import ReadPlan, Storage, TaskSpec, plan_version
from lakehouse.training.reader import read_blocks
from lakehouse.training.served import record_served


class LakehouseDatasource(Datasource):
    """Read tasks of a ReadPlan; `parallelism` is ignored because the plan fixes the order."""

    def __init__(self, plan: ReadPlan) -> None:
        super().__init__()
        self._tasks = plan.tasks
        self._options = plan.options
        self._storage = plan.storage
        self._name = f"Lakehouse({plan.version.dataset}@{plan.version.version_id})"

    def get_name(self) -> str:
        return self._name

    def estimate_inmemory_data_size(self) -> int:
        return sum(task.out_bytes for task in self._tasks)

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
    ) -> list[ReadTask]:
        return [
            ReadTask(
                partial(_read, task, self._options, self._storage),
                BlockMetadata(
                    num_rows=task.rows,
                    size_bytes=task.out_bytes,
                    exec_stats=None,
                    input_files=tuple(path for path, _ in task.files()),
                ),
                per_task_row_limit=per_task_row_limit,
            )
            for task in self._tasks
        ]


def _read(task: TaskSpec, options: ReadOptions, storage: Storage) -> Iterator[pa.Table]:
    # One OpenCV thread per read task: Ray already runs a task per CPU and OpenCV's own threads
    # only contend with them. Safe here, unlike in a forked DataLoader worker (DESIGN.md): Ray
    # starts its workers as new processes.
    cv2.setNumThreads(1)
    yield from read_blocks(task, options, storage.file_io())


def ray_dataset(
    dataset: str,
    ref: str | None = None,
    snapshot_id: int | None = None,
    version_id: int | None = None,
    *,
    columns: Iterable[str] = DEFAULT_COLUMNS,
    decode: str | None = "rgb",
    resize: tuple[int, int] | None = None,
    shuffle_seed: int | None = None,
    filter: Mapping[str, FilterValue] | None = None,
    settings: Settings | None = None,
    lake: Lakehouse | None = None,
    concurrency: int | None = None,
    override_num_blocks: int | None = None,
    task_bytes: int = TASK_BYTES,
    block_bytes: int = BLOCK_BYTES,
) -> ray.data.Dataset:
    """A Ray Dataset of one version of `dataset` (default: main), planned now, read lazily.

    Same version, request and `shuffle_seed` give the same rows in the same order with the
    same bytes on every run, whatever the cluster size, `concurrency` or
    `override_num_blocks`. For a new order per epoch, pass `shuffle_seed=base + epoch`.
    `last_served()` returns what was planned (version, fingerprint, seed, order digest).
    """
    options = ReadOptions.build(
        columns, decode, resize, shuffle_seed, filter, task_bytes, block_bytes
    )
    lake, plan = plan_version(lake, settings, dataset, ref, snapshot_id, version_id, options)
    ensure_ray(lake.settings.ray)
    ds = ray.data.read_datasource(
        LakehouseDatasource(plan),
        concurrency=concurrency,
        # The plan's blocks are already sized from pixels; by default Ray would cut every task's
        # output into dozens of tiny blocks to reach its minimum block count (measured: 23x).
        override_num_blocks=override_num_blocks or max(1, len(plan.tasks)),
    )
    ds.context.execution_options.preserve_order = True
    record_served(lake, plan, "ray")
    return ds
