"""PyTorch without Ray: an IterableDataset over the same plan as `ray_dataset`.

Planned read tasks are dealt round-robin over `world_size` ranks and, inside a rank, over the
DataLoader's workers; each worker reads and decodes its tasks itself (`reader.read_blocks`) and
yields one sample (a dict of numpy values) per row, which the DataLoader collates into tensors.
Safe in forked DataLoader workers: nothing here calls `cv2.setNumThreads` (DESIGN.md). Torch is
an optional dependency (the `torch` extra); only this module imports it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa
from torch.utils.data import IterableDataset, get_worker_info

from lakehouse.api import Lakehouse
from lakehouse.config import Settings
from lakehouse.training.options import (
    BLOCK_BYTES,
    DEFAULT_COLUMNS,
    TASK_BYTES,
    FilterValue,
    ReadOptions,
)
from lakehouse.training.plan import ReadPlan, plan_version
from lakehouse.training.reader import read_blocks
from lakehouse.training.served import record_served


class LakehouseIterableDataset(IterableDataset):
    """Samples of a planned read; a worker's share is every n-th task of the plan.

    Order: the plan's order per worker; a DataLoader interleaves its workers' batches, so the
    order is the same for the same `num_workers` and `world_size`.
    """

    def __init__(self, plan: ReadPlan, rank: int = 0, world_size: int = 1) -> None:
        super().__init__()
        self.tasks, self.options, self.storage = plan.tasks, plan.options, plan.storage
        self.rank, self.world_size = rank, world_size

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        io = self.storage.file_io()
        for task in self.tasks[self.rank * workers + worker :: self.world_size * workers]:
            for block in read_blocks(task, self.options, io):
                yield from samples(block)


def samples(block: pa.Table) -> Iterator[dict[str, Any]]:
    """One dict per row: pixels and numbers as numpy values, other columns as Python values."""
    columns = {name: _values(block[name].combine_chunks()) for name in block.column_names}
    for index in range(block.num_rows):
        yield {name: values[index] for name, values in columns.items()}


def _values(array: pa.Array) -> Any:
    if (
        isinstance(array.type, pa.ExtensionType)
        or pa.types.is_integer(array.type)
        or pa.types.is_floating(array.type)
    ):
        return array.to_numpy(zero_copy_only=False)
    return array.to_pylist()


def torch_dataset(
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
    rank: int = 0,
    world_size: int = 1,
    task_bytes: int = TASK_BYTES,
    block_bytes: int = BLOCK_BYTES,
) -> LakehouseIterableDataset:
    """A `torch.utils.data.IterableDataset` of one version; arguments as for `ray_dataset`."""
    options = ReadOptions.build(
        columns, decode, resize, shuffle_seed, filter, task_bytes, block_bytes
    )
    lake, plan = plan_version(lake, settings, dataset, ref, snapshot_id, version_id, options)
    record_served(lake, plan, "torch")
    return LakehouseIterableDataset(plan, rank, world_size)
