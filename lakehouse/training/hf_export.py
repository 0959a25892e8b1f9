"""A dataset version as a Hugging Face `datasets.Dataset`, and its export with `save_to_disk`.

The `image` column is an `Image()` feature holding the original encoded bytes (HF decodes them
on access); labels come from the `annotations` table, per asset. Row groups are streamed from
Parquet into one Arrow IPC file, the format `datasets` itself caches in, which `datasets` then
memory-maps: reading it is zero-copy and memory stays bounded however big the version is. The
file is named after the version and the request and is reused by later calls (a version never
changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from lakehouse.api import Lakehouse
from lakehouse.config import Settings
from lakehouse.errors import UsageError
from lakehouse.schema import ASSETS_SCHEMA
from lakehouse.training.labels import ANNOTATIONS_TYPE
from lakehouse.training.options import CONTENT, IMAGE, FilterValue, ReadOptions
from lakehouse.training.plan import ReadPlan, plan_version
from lakehouse.training.reader import read_blocks
from lakehouse.training.served import ServedRecord, record_served

HF_COLUMNS = ("asset_id", IMAGE, "width", "height", "annotations")
PROVENANCE_FILE = "LAKEHOUSE.json"  # written by export_hf beside the saved dataset


@dataclass
class HFExportReport:
    destination: str
    rows: int
    served: ServedRecord

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_hf_dataset(
    dataset: str,
    ref: str | None = None,
    snapshot_id: int | None = None,
    version_id: int | None = None,
    *,
    columns: Iterable[str] = HF_COLUMNS,
    filter: Mapping[str, FilterValue] | None = None,
    settings: Settings | None = None,
    lake: Lakehouse | None = None,
    cache_dir: str | Path | None = None,
) -> datasets.Dataset:
    """One version of `dataset` (default: main) as a memory-mapped `datasets.Dataset`.

    Rows are in storage order. `cache_dir` defaults to `<home>/cache/huggingface`.
    """
    lake = lake or Lakehouse.open(settings)
    options = ReadOptions.build(columns, decode=None, filter=filter)
    return _build(lake, dataset, ref, snapshot_id, version_id, options, cache_dir)[0]


def export_hf(
    dataset: str,
    destination: str | Path,
    ref: str | None = None,
    snapshot_id: int | None = None,
    version_id: int | None = None,
    *,
    columns: Iterable[str] = HF_COLUMNS,
    filter: Mapping[str, FilterValue] | None = None,
    settings: Settings | None = None,
    lake: Lakehouse | None = None,
) -> HFExportReport:
    """`to_hf_dataset(...).save_to_disk(destination)`, plus LAKEHOUSE.json (what was served).

    Audited, like `export`: data leaving the lake is something the audit log must answer for.
    """
    target = Path(destination)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"cannot export into {target}: it exists and is not an empty directory")
    lake = lake or Lakehouse.open(settings)
    options = ReadOptions.build(columns, decode=None, filter=filter)
    hf, served = _build(lake, dataset, ref, snapshot_id, version_id, options, None)
    hf.save_to_disk(str(target))
    (target / PROVENANCE_FILE).write_text(json.dumps(served.to_dict(), indent=2) + "\n")
    lake.control.record(
        "export-hf",
        dataset,
        str(target),
        "ok",
        {"version_id": served.version_id, "rows": len(hf)},
        lake.actor,
    )
    return HFExportReport(str(target), len(hf), served)


def _build(
    lake: Lakehouse,
    dataset: str,
    ref: str | None,
    snapshot_id: int | None,
    version_id: int | None,
    options: ReadOptions,
    cache_dir: str | Path | None,
) -> tuple[datasets.Dataset, ServedRecord]:
    lake, plan = plan_version(lake, None, dataset, ref, snapshot_id, version_id, options)
    schema = arrow_schema(options)
    path = _cache_file(Path(cache_dir or lake.settings.home / "cache" / "huggingface"), plan)
    if not path.exists():
        _write(plan, schema, path)
    served = record_served(lake, plan, "huggingface")
    info = datasets.DatasetInfo(
        description=f"lakehouse {served.dataset} version {served.version_id}",
        features=features(schema),
    )
    return datasets.Dataset.from_file(str(path), info=info), served


def arrow_schema(options: ReadOptions) -> pa.Schema:
    """The Arrow schema of the HF dataset's files for the asked columns."""
    stored = ASSETS_SCHEMA.as_arrow()
    fields = []
    for name in options.columns:
        if name == IMAGE:
            kind = datasets.Image().pa_type
        elif name == CONTENT:
            kind = pa.binary()
        elif name == "annotations":
            kind = ANNOTATIONS_TYPE
        elif name == "category":
            kind = pa.list_(pa.string())
        elif name == "attrs":
            kind = pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())]))
        else:
            kind = _small(stored.field(name).type)
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def features(schema: pa.Schema) -> datasets.Features:
    found = datasets.Features.from_arrow_schema(schema)
    if IMAGE in found:
        found[IMAGE] = datasets.Image()
    return found


def _write(plan: ReadPlan, schema: pa.Schema, path: Path) -> None:
    """Stream the plan into an Arrow IPC stream file, renamed into place when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    io = plan.storage.file_io()
    try:
        with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            for task in plan.tasks:
                for block in read_blocks(task, plan.options, io):
                    writer.write_table(_to_hf(block, schema))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _to_hf(block: pa.Table, schema: pa.Schema) -> pa.Table:
    columns = []
    for field in schema:
        column = block[field.name].combine_chunks()
        if field.name == IMAGE:
            column = pa.StructArray.from_arrays(
                [column.cast(pa.binary()), pa.nulls(len(column), pa.string())],
                names=["bytes", "path"],
            )
        elif field.name == "attrs":
            entries = pa.StructArray.from_arrays([column.keys, column.items], ["key", "value"])
            column = pa.ListArray.from_arrays(column.offsets, entries, mask=column.is_null())
        columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _cache_file(directory: Path, plan: ReadPlan) -> Path:
    request = json.dumps(plan.options.describe(), sort_keys=True).encode()
    version = plan.version
    key = hashlib.sha256(request + str(sorted(version.snapshots.items())).encode()).hexdigest()
    return directory / f"{version.dataset}-v{version.version_id}-{key[:16]}.arrow"


def _small(kind: pa.DataType) -> pa.DataType:
    """string/binary for large_string/large_binary: what `datasets` features expect."""
    if pa.types.is_large_string(kind):
        return pa.string()
    if pa.types.is_large_binary(kind):
        return pa.binary()
    return kind
