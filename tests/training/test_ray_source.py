"""`ray_dataset` on a real catalog and a real local Ray: order, bytes, projection, versions,
splits, tensors, filters and labels."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray
from pyiceberg.io import FileIO, InputFile, OutputFile

from lakehouse.training import last_served, ray_dataset
from lakehouse.training.options import ReadOptions
from lakehouse.training.plan import plan_read
from lakehouse.training.reader import read_blocks
from lakehouse.verify import data_files
from tests.training import Street, build_street

RESIZE = (32, 24)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Street:
    return build_street(tmp_path_factory.mktemp("street"))


def served(ds: ray.data.Dataset) -> list[tuple[str, str]]:
    """(asset_id, sha256 of the image column's bytes) of every row, in iteration order."""
    rows = []
    for batch in ds.iter_batches(batch_size=7, batch_format="numpy"):
        for asset_id, image in zip(batch["asset_id"], batch["image"], strict=True):
            data = image.tobytes() if isinstance(image, np.ndarray) else bytes(image)
            rows.append((str(asset_id), hashlib.sha256(data).hexdigest()))
    return rows


def test_same_seed_gives_same_order_and_bytes_across_runs_and_parallelism(street: Street) -> None:
    def run(seed: int | None, epochs: int = 1, **ray_options: Any) -> list[tuple[str, str]]:
        ds = ray_dataset(
            "street",
            lake=street.lake,
            resize=RESIZE,
            shuffle_seed=seed,
            task_bytes=60_000,
            block_bytes=8_000,
            **ray_options,
        )
        each = [served(ds) for _ in range(epochs)]
        assert all(epoch == each[0] for epoch in each)  # every epoch, the same order
        return each[0]

    first = run(7, epochs=2, override_num_blocks=1, concurrency=1)
    record = last_served()
    second = run(7, override_num_blocks=64, concurrency=2)
    again = run(7)
    assert first == second == again
    assert len(first) == len({a for a, _ in first}) == len(street.all_ids)
    assert {a for a, _ in first} == street.all_ids
    assert record is not None and record.request["seed"] == 7 and record.rows == 40
    served_ids = "".join(f"{a}\n" for a, _ in first).encode()
    assert record.order_digest == hashlib.sha256(served_ids).hexdigest()
    assert record.fingerprint == street.lake.resolve("street").properties["fingerprint"]
    other = run(8)
    assert sorted(other) == sorted(first) and other != first
    unshuffled = run(None)
    assert sorted(unshuffled) == sorted(first) and unshuffled not in (first, other)


def test_plan_spreads_the_version_over_many_tasks_and_blocks(street: Street) -> None:
    version = street.lake.resolve("street")
    options = ReadOptions.build(resize=RESIZE, shuffle_seed=1, task_bytes=20_000, block_bytes=3_000)
    plan = plan_read(street.lake.catalog, version, options)
    assert len(plan.tasks) > 5 and sum(len(t.blocks) for t in plan.tasks) > len(plan.tasks)
    assert sum(t.rows for t in plan.tasks) == plan.rows == 40
    # sized from pixels: 64x48x3 per row decoded, 32x24x3 served
    assert max(t.rows for t in plan.tasks) <= 3
    assert plan.out_bytes == 40 * (32 * 24 * 3 + 128)


class _Recording:
    """A file that records which byte ranges are read from it."""

    def __init__(self, inner: Any, ranges: list[tuple[int, int]]) -> None:
        self._inner, self._ranges = inner, ranges

    def _note(self, start: int, data: Any) -> Any:
        self._ranges.append((start, start + len(data)))
        return data

    def read(self, size: int = -1) -> bytes:
        return self._note(self._inner.tell(), self._inner.read(size))

    def read_buffer(self, size: int = -1) -> Any:
        return self._note(self._inner.tell(), self._inner.read_buffer(size))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _Recording:
        return self

    def __exit__(self, *_: object) -> None:
        self._inner.close()


class _RecordingInput:
    def __init__(self, inner: InputFile, ranges: list[tuple[int, int]]) -> None:
        self._inner, self._ranges = inner, ranges

    def open(self, seekable: bool = True) -> _Recording:
        return _Recording(self._inner.open(seekable=seekable), self._ranges)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RecordingIO(FileIO):
    """A FileIO recording every byte range read, per file."""

    def __init__(self, inner: FileIO) -> None:
        super().__init__(inner.properties)
        self.inner = inner
        self.ranges: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def new_input(self, location: str) -> InputFile:
        return _RecordingInput(self.inner.new_input(location), self.ranges[location])  # type: ignore[return-value]

    def new_output(self, location: str) -> OutputFile:
        return self.inner.new_output(location)

    def delete(self, location: str | InputFile | OutputFile) -> None:
        self.inner.delete(location)


def _content_chunks(io: FileIO, path: str) -> list[tuple[int, int]]:
    with io.new_input(path).open() as handle:
        meta = pq.ParquetFile(handle).metadata
    chunks = []
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        for column in (group.column(i) for i in range(group.num_columns)):
            if column.path_in_schema == "content":
                start = min(
                    o
                    for o in (column.dictionary_page_offset, column.data_page_offset)
                    if o is not None
                )
                chunks.append((start, start + column.total_compressed_size))
    return chunks


def _bytes_read(street: Street, options: ReadOptions) -> tuple[int, int]:
    """(bytes read from content column chunks, bytes read in all) by planning and reading,
    footer reads aside: pyarrow reads a file's last 64 KiB to find its footer, which in these
    small test files is the whole file."""
    version = street.lake.resolve("street")
    table, files = data_files(street.lake.catalog, version)
    recording = RecordingIO(table.io)
    plan = plan_read(street.lake.catalog, version, options, io=recording)
    rows = sum(b.num_rows for t in plan.tasks for b in read_blocks(t, options, recording))
    assert rows == 40
    in_content = total = 0
    for data_file in files:
        chunks = _content_chunks(table.io, data_file.file_path)
        for start, end in recording.ranges[data_file.file_path]:
            if end == data_file.file_size_in_bytes:
                continue
            total += end - start
            in_content += sum(max(0, min(end, e) - max(start, s)) for s, e in chunks)
    return in_content, total


def test_metadata_projection_never_reads_a_content_byte(street: Street) -> None:
    meta_content, meta_total = _bytes_read(
        street, ReadOptions.build(columns=["asset_id", "width", "height", "category"])
    )
    image_content, image_total = _bytes_read(
        street, ReadOptions.build(columns=["asset_id", "image"], decode=None)
    )
    assert meta_content == 0 and meta_total > 0
    assert image_content > 40 * 1000  # the positive control: 40 JPEGs of over 1 KB each
    assert meta_total < image_total / 5


def test_reads_a_tag_a_snapshot_id_and_a_version_id(street: Street) -> None:
    def ids(**version: Any) -> set[str]:
        ds = ray_dataset("street", lake=street.lake, columns=["asset_id"], **version)
        return {row["asset_id"] for row in ds.take_all()}

    v1 = street.lake.resolve("street", ref="v1")
    assert ids(ref="v1") == street.v1_ids
    assert last_served().ref == "v1"
    assert ids(snapshot_id=v1.snapshots["assets"]) == street.v1_ids
    assert last_served().ref is None
    assert ids(version_id=v1.version_id) == street.v1_ids
    assert ids() == ids(ref="v2") == street.all_ids


@ray.remote(num_cpus=0)  # consumers of a split must not take the read tasks' CPUs (DESIGN.md)
def _consume(split: ray.data.DataIterator, epochs: int) -> list[list[str]]:
    return [
        [a for batch in split.iter_batches(batch_size=5) for a in batch["asset_id"]]
        for _ in range(epochs)
    ]


@pytest.mark.parametrize("equal", [False, True])  # Ray Train's DataConfig asks equal=True
def test_streaming_split_gives_two_consumers_disjoint_halves_every_epoch(
    street: Street, equal: bool
) -> None:
    ds = ray_dataset(
        "street",
        lake=street.lake,
        columns=["asset_id", "image"],
        resize=RESIZE,
        shuffle_seed=3,
        task_bytes=100_000,
        block_bytes=8_000,
    )
    splits = ds.streaming_split(2, equal=equal)
    left, right = ray.get([_consume.remote(split, 2) for split in splits])
    for epoch in range(2):
        assert not set(left[epoch]) & set(right[epoch])
        assert set(left[epoch]) | set(right[epoch]) == street.all_ids
        assert len(left[epoch]) + len(right[epoch]) == 40
        if equal:
            assert len(left[epoch]) == len(right[epoch])


def test_iter_torch_batches_have_the_requested_shape_and_channel_order(street: Street) -> None:
    import torch

    def batches(decode: str) -> list[torch.Tensor]:
        ds = ray_dataset(
            "street",
            lake=street.lake,
            columns=["image"],
            decode=decode,
            resize=RESIZE,
            shuffle_seed=5,
        )
        return [b["image"] for b in ds.iter_torch_batches(batch_size=16)]

    rgb, bgr, gray = batches("rgb"), batches("bgr"), batches("gray")
    assert [tuple(b.shape) for b in rgb] == [(16, 24, 32, 3), (16, 24, 32, 3), (8, 24, 32, 3)]
    assert all(b.dtype == torch.uint8 for b in rgb)
    assert all(torch.equal(r, b.flip(-1)) for r, b in zip(rgb, bgr, strict=True))
    assert tuple(gray[0].shape) == (16, 24, 32, 1)


def test_without_resize_images_keep_their_stored_size(street: Street) -> None:
    rows = ray_dataset(
        "street", lake=street.lake, columns=["image", "width", "height"], ref="v1"
    ).take(3)
    assert all(r["image"].shape == (r["height"], r["width"], 3) for r in rows)


def test_filters_are_pushed_down_and_labels_joined_per_asset(street: Street) -> None:
    val = {a for a, labels in street.labels.items() if labels[0]["split"] == "val"}
    rows = ray_dataset(
        "street",
        lake=street.lake,
        columns=["asset_id", "annotations", "category"],
        filter={"split": "val"},
    ).take_all()
    assert {r["asset_id"] for r in rows} == val
    for row in rows:
        assert row["annotations"] == street.labels[row["asset_id"]]
        assert row["category"] == [label["category"] for label in row["annotations"]]
    scenes = ray_dataset(
        "street",
        lake=street.lake,
        columns=["asset_id"],
        filter={"category": ["scene"], "split": "train"},
    ).take_all()
    expected = {
        a
        for a, labels in street.labels.items()
        if any(x["category"] == "scene" and x["split"] == "train" for x in labels)
    }
    assert {r["asset_id"] for r in scenes} == expected and expected
    jpegs = ray_dataset(
        "street",
        lake=street.lake,
        columns=["asset_id"],
        ref="v1",
        filter={"media_type": "image/jpeg", "width": [64]},
    )
    assert jpegs.count() == 24
    assert (
        ray_dataset(
            "street", lake=street.lake, columns=["asset_id"], filter={"media_type": "image/png"}
        ).count()
        == 0
    )


def test_bad_requests_are_usage_errors(street: Street) -> None:
    from lakehouse.errors import UsageError

    for bad in (
        {"columns": ["nope"]},
        {"decode": "cmyk"},
        {"decode": None, "resize": (8, 8)},
        {"filter": {"content": b""}},
        {"filter": {"width": ["wide"]}},
    ):
        with pytest.raises(UsageError):
            ray_dataset("street", lake=street.lake, **bad)
