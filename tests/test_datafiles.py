"""Data files written while rows arrive, committed afterwards as metadata only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakehouse import Lakehouse, Settings
from lakehouse import tables as iceberg
from lakehouse.datafiles import DataFileWriter
from lakehouse.ingest.rows import ASSETS_ARROW
from lakehouse.samples import make_jpeg
from lakehouse.schema import ASSETS


def _assets(first_seed: int, count: int) -> pa.Table:
    """`count` real JPEG rows of the assets schema."""
    images = [make_jpeg(seed, (160, 120)) for seed in range(first_seed, first_seed + count)]
    rows = {field.name: [None] * count for field in ASSETS_ARROW}
    rows |= {
        "asset_id": [f"{first_seed + i:064x}" for i in range(count)],
        "content": images,
        "media_type": ["image/jpeg"] * count,
        "kind": ["image"] * count,
        "width": [160] * count,
        "height": [120] * count,
        "channels": [3] * count,
        "bit_depth": [8] * count,
        "source_uri": [f"file:///drop/{first_seed + i}.jpg" for i in range(count)],
        "format": ["jpeg"] * count,
        "byte_size": [len(image) for image in images],
        "phash": list(range(first_seed, first_seed + count)),
        "ingest_id": ["test"] * count,
        "ingested_at": [datetime(2026, 11, 27, tzinfo=UTC)] * count,
        "attrs": [[]] * count,
    }
    return pa.Table.from_pydict(rows, schema=ASSETS_ARROW)


@pytest.fixture
def catalog(tmp_path: Path):
    catalog = Lakehouse(Settings.embedded(tmp_path / "home")).catalog
    iceberg.ensure_dataset(catalog, "ds")
    return catalog


def _head(catalog, name: str) -> int:
    return catalog.load_table(name).metadata.refs["main"].snapshot_id


def test_streamed_file_matches_what_pyiceberg_append_writes(catalog):
    """Same rows, same schema with field ids, and the same column metrics in the manifest."""
    name = f"ds.{ASSETS}"
    batches = [_assets(0, 5), _assets(5, 7), _assets(12, 3)]
    writer = DataFileWriter(catalog.load_table(name), row_group_bytes=1)  # a group per write
    for batch in batches:
        writer.write(batch)
    streamed = writer.finish()
    assert streamed is not None and streamed.record_count == 15

    head = _head(catalog, name)
    iceberg.append_files(catalog, name, [streamed], "streamed", {}, fork_from=head)
    iceberg.append(catalog, name, pa.concat_tables(batches), "appended", {}, fork_from=head)

    table = catalog.load_table(name)
    (appended,) = [t.file for t in table.scan(snapshot_id=_ref(table, "appended")).plan_files()]
    (listed,) = [t.file for t in table.scan(snapshot_id=_ref(table, "streamed")).plan_files()]
    assert listed.file_path == streamed.file_path
    for metric in ("record_count", "value_counts", "null_value_counts", "lower_bounds"):
        assert getattr(listed, metric) == getattr(appended, metric), metric
    assert listed.upper_bounds == appended.upper_bounds

    read = table.scan(snapshot_id=_ref(table, "streamed")).to_arrow()
    expected = pa.concat_tables(batches)
    assert read.column("asset_id").to_pylist() == expected.column("asset_id").to_pylist()
    assert read.column("content").to_pylist() == expected.column("content").to_pylist()
    # one row group per write: the file was written while rows arrived, not at the end
    parquet = pq.ParquetFile(listed.file_path.removeprefix("file://"))
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    assert sizes == [5, 7, 3]


def test_row_groups_fill_up_to_the_byte_target(catalog):
    table = catalog.load_table(f"ds.{ASSETS}")
    batch = _assets(0, 4)
    writer = DataFileWriter(table, row_group_bytes=int(batch.nbytes * 2.5))
    for first in range(0, 40, 4):
        writer.write(_assets(first, 4))
    written = writer.finish()
    assert written is not None
    parquet = pq.ParquetFile(written.file_path.removeprefix("file://"))
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    assert sizes == [12, 12, 12, 4]  # three writes reach the target; the rest at finish


def test_discard_deletes_the_file_and_nothing_is_committed(catalog):
    name = f"ds.{ASSETS}"
    writer = DataFileWriter(catalog.load_table(name), row_group_bytes=1)
    writer.write(_assets(0, 3))
    writer.flush()
    writer.discard()
    data_dir = Path(catalog.load_table(name).location().removeprefix("file://")) / "data"
    assert not list(data_dir.glob("*.parquet"))
    assert DataFileWriter(catalog.load_table(name), row_group_bytes=1).finish() is None


def test_finished_file_is_kept_by_a_later_discard(catalog):
    name = f"ds.{ASSETS}"
    writer = DataFileWriter(catalog.load_table(name), row_group_bytes=1 << 30)
    writer.write(_assets(0, 2))
    written = writer.finish()
    writer.discard()  # cleanup after a failure elsewhere must not lose a file to be committed
    assert written is not None and Path(written.file_path.removeprefix("file://")).exists()


def _ref(table, branch: str) -> int:
    return table.metadata.refs[branch].snapshot_id
