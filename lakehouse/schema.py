"""Iceberg schemas and table properties of a dataset's tables.

Column names are the public contract (SQL users rely on them); columns may be added, never
renamed. Properties are chosen by measurement (`tests/bench/bench_table_properties.py`):
JPEG/PNG bytes do not compress, so zstd on the image column only costs write time; row groups
are sized in rows from the mean asset size because pyiceberg ignores byte-based row-group sizes.
"""

from __future__ import annotations

import math

from pyiceberg.schema import Schema
from pyiceberg.types import (
    BinaryType,
    DoubleType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    TimestamptzType,
)

ASSETS, SOURCES, QUARANTINE = "assets", "sources", "quarantine"
TABLES = (ASSETS, SOURCES, QUARANTINE)

ROW_GROUP_TARGET_BYTES = 32 * 1024 * 1024
ASSUMED_MEAN_ASSET_BYTES = 100 * 1024


def _string(field_id: int, name: str, required: bool = False) -> NestedField:
    return NestedField(field_id, name, StringType(), required=required)


ASSETS_SCHEMA = Schema(
    _string(1, "asset_id", required=True),
    NestedField(2, "content", BinaryType(), required=True),
    _string(3, "media_type", required=True),
    _string(4, "kind", required=True),
    NestedField(5, "width", IntegerType(), required=True),
    NestedField(6, "height", IntegerType(), required=True),
    NestedField(7, "channels", IntegerType(), required=True),
    NestedField(8, "bit_depth", IntegerType(), required=True),
    NestedField(9, "byte_size", LongType(), required=True),
    NestedField(10, "phash", LongType()),
    _string(11, "video_id"),
    NestedField(12, "frame_index", IntegerType()),
    NestedField(13, "pts_ms", DoubleType()),
    _string(14, "source_uri", required=True),
    _string(15, "ingest_id", required=True),
    NestedField(16, "ingested_at", TimestamptzType(), required=True),
    NestedField(
        17,
        "attrs",
        MapType(
            key_id=100,
            key_type=StringType(),
            value_id=101,
            value_type=StringType(),
            value_required=False,
        ),
    ),
    _string(18, "format", required=True),
    _string(19, "color_mode"),
    NestedField(20, "exif_orientation", IntegerType()),
)

SOURCES_SCHEMA = Schema(
    _string(1, "ingest_id", required=True),
    _string(2, "source_uri", required=True),
    _string(3, "root", required=True),
    _string(4, "rel_path", required=True),
    NestedField(5, "byte_size", LongType()),
    _string(6, "outcome", required=True),
    _string(7, "asset_id"),
    _string(8, "quarantine_id"),
    _string(9, "detail"),
    NestedField(10, "seen_at", TimestamptzType(), required=True),
)

QUARANTINE_SCHEMA = Schema(
    _string(1, "quarantine_id", required=True),
    NestedField(2, "content", BinaryType()),
    _string(3, "source_uri", required=True),
    _string(4, "ingest_id", required=True),
    _string(5, "category", required=True),
    NestedField(
        6,
        "reasons",
        ListType(element_id=100, element_type=StringType(), element_required=True),
        required=True,
    ),
    _string(7, "detail"),
    _string(8, "status", required=True),
    _string(9, "media_type"),
    NestedField(10, "byte_size", LongType(), required=True),
    _string(11, "policy", required=True),
    NestedField(12, "created_at", TimestamptzType(), required=True),
    _string(13, "sha256", required=True),
)

SCHEMAS = {ASSETS: ASSETS_SCHEMA, SOURCES: SOURCES_SCHEMA, QUARANTINE: QUARANTINE_SCHEMA}

_COMMON_PROPERTIES = {
    # pyiceberg retries commits to one branch; raise it for parallel writers on one table.
    "commit.retry.num-retries": "20",
    "commit.retry.min-wait-ms": "50",
    "commit.retry.max-wait-ms": "2000",
    # Fast appends leave one manifest per commit; merge them so scan planning stays cheap.
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "16",
    # Every commit writes a metadata.json; keep the last few, not one per commit forever.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "format-version": "2",
}

_BYTES_TABLE_PROPERTIES = {
    **_COMMON_PROPERTIES,
    # Encoded images do not compress: zstd costs ~3x write time and saves <1% (bench).
    "write.parquet.compression-codec": "uncompressed",
    "write.metadata.metrics.column.content": "none",
    "write.parquet.row-group-limit": "256",  # row_group_rows(ASSUMED_MEAN_ASSET_BYTES)
}

PROPERTIES = {
    ASSETS: _BYTES_TABLE_PROPERTIES,
    QUARANTINE: _BYTES_TABLE_PROPERTIES,
    SOURCES: {**_COMMON_PROPERTIES, "write.parquet.compression-codec": "zstd"},
}


def row_group_rows(mean_asset_bytes: float) -> int:
    """Rows per Parquet row group so a row group holds about ROW_GROUP_TARGET_BYTES.

    Rounded to a power of two so the table property changes only when the mean image size
    really moves, not with every batch.
    """
    rows = ROW_GROUP_TARGET_BYTES / max(mean_asset_bytes, 1.0)
    return max(16, min(65_536, 1 << round(math.log2(max(rows, 1.0)))))
