"""Write one table's Parquet data file while its rows still arrive; commit it afterwards.

pyiceberg's `append` writes the whole Arrow table inside the commit. An ingest that commits a
window of images that way spends the Parquet write after the window's last worker result,
and after the run's last result the workers sit idle through it. A `DataFileWriter` takes
rows as they come and writes them off the caller's thread (Parquet writes release the GIL)
in row groups of about `row_group_bytes`, through pyiceberg's own Parquet format writer (field
ids, column metrics and split offsets as `append` would record them). The commit that
follows only adds the finished file's metadata (`lakehouse.tables.append_files`).
"""

from __future__ import annotations

import contextlib
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa
from pyiceberg.io.fileformat import FileFormatFactory, FileFormatWriter
from pyiceberg.io.pyarrow import schema_to_pyarrow  # also registers the Parquet format model
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import Table
from pyiceberg.typedef import Record

_ONE_GROUP_PER_WRITE = str(1 << 30)  # row-group row limit: each write call is one row group


class DataFileWriter:
    """Rows for one Parquet data file of `table`, written in the background as they come.

    At most one row group is being written while the next one fills, so memory stays bounded
    by about two row groups whatever the file's size. `finish` returns the `DataFile` to
    commit (None when no rows came); `discard` deletes what was written.
    """

    def __init__(self, table: Table, row_group_bytes: int) -> None:
        if not table.spec().is_unpartitioned():
            raise ValueError(f"{table.name()}: DataFileWriter writes unpartitioned tables only")
        self._table = table
        self._schema = table.schema()
        self._arrow_schema = schema_to_pyarrow(self._schema, include_field_ids=True)
        self._row_group_bytes = row_group_bytes
        self._path = table.location_provider().new_data_location(f"00000-0-{uuid.uuid4()}.parquet")
        self._output = table.io.new_output(self._path)
        self._writer: FileFormatWriter | None = None
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._writing: Future[None] | None = None
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="lakehouse-datafile")
        self._finished = False

    def write(self, data: pa.Table) -> None:
        """Queue `data` (columns of the table's schema); a full row group goes to disk."""
        if not data.num_rows:
            return
        self._pending.append(data.cast(self._arrow_schema))
        self._pending_bytes += data.nbytes
        if self._pending_bytes >= self._row_group_bytes:
            self.flush()

    def finish(self) -> DataFile | None:
        """Write what is queued, close the file and describe it for a commit."""
        try:
            self.flush()
            self._wait()
            if self._writer is None:
                return None
            statistics = self._writer.close()
            self._finished = True
        finally:
            self._pool.shutdown()
        metadata = self._table.metadata
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=self._path,
            file_format=FileFormat.PARQUET,
            partition=Record(),
            file_size_in_bytes=len(self._output),
            sort_order_id=None,
            spec_id=metadata.default_spec_id,
            equality_ids=None,
            key_metadata=None,
            **statistics.to_serialized_dict(),
        )

    def discard(self) -> None:
        """Stop writing and delete the file, unless `finish` returned it (it is committed)."""
        if self._finished:
            return
        self._pending = []
        with contextlib.suppress(Exception):  # a failed write is moot: the file goes anyway
            self._wait()
            if self._writer is not None:
                self._writer.close()
        self._pool.shutdown()
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._table.io.delete(self._path)

    def flush(self) -> None:
        """Start writing what is queued as a row group, however small."""
        if not self._pending:
            return
        group = pa.concat_tables(self._pending)
        self._pending, self._pending_bytes = [], 0
        self._wait()  # backpressure: one row group on its way to disk at a time
        self._writing = self._pool.submit(self._write_group, group)

    def _wait(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def _write_group(self, group: pa.Table) -> None:
        if self._writer is None:
            properties = {
                **self._table.properties,
                "write.parquet.row-group-limit": _ONE_GROUP_PER_WRITE,
            }
            model = FileFormatFactory.get(FileFormat.PARQUET)
            self._writer = model.create_writer(self._output, self._schema, properties)
        self._writer.write(group)
