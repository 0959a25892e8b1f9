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
    BooleanType,
    DoubleType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestamptzType,
)

ASSETS, SOURCES, QUARANTINE = "assets", "sources", "quarantine"
ANNOTATIONS, VIDEOS, CHECKS, DUPLICATES = "annotations", "videos", "checks", "duplicates"
TABLES = (ASSETS, SOURCES, QUARANTINE, ANNOTATIONS, VIDEOS, CHECKS, DUPLICATES)

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

ANNOTATIONS_SCHEMA = Schema(
    _string(1, "annotation_id", required=True),
    _string(2, "asset_id", required=True),
    _string(3, "category"),
    NestedField(4, "category_id", LongType()),
    NestedField(
        5,
        "bbox",  # x, y, w, h in pixels; null for an image-level label
        StructType(
            NestedField(100, "x", DoubleType(), required=True),
            NestedField(101, "y", DoubleType(), required=True),
            NestedField(102, "w", DoubleType(), required=True),
            NestedField(103, "h", DoubleType(), required=True),
        ),
    ),
    NestedField(
        6,
        "attrs",
        MapType(
            key_id=110,
            key_type=StringType(),
            value_id=111,
            value_type=StringType(),
            value_required=False,
        ),
    ),
    _string(7, "source", required=True),  # where the label came from, e.g. a COCO file uri
    _string(8, "split"),  # train / val / test when the labels say so
    _string(9, "content_sha256", required=True),  # digest of the label content (fingerprint)
    _string(10, "ingest_id", required=True),
    NestedField(11, "created_at", TimestamptzType(), required=True),
)

VIDEOS_SCHEMA = Schema(
    _string(1, "video_id", required=True),  # sha256 of the container bytes
    _string(2, "source_uri", required=True),
    _string(3, "container", required=True),
    _string(4, "codec"),
    NestedField(5, "fps", DoubleType()),  # nominal (declared) frame rate
    NestedField(6, "frame_count", LongType()),  # declared by the container
    NestedField(7, "frames_decoded", LongType()),
    NestedField(8, "frames_stored", LongType()),
    NestedField(9, "duration_s", DoubleType()),
    NestedField(10, "width", IntegerType()),
    NestedField(11, "height", IntegerType()),
    NestedField(12, "byte_size", LongType(), required=True),
    NestedField(13, "median_interval_ms", DoubleType()),
    NestedField(14, "max_interval_ms", DoubleType()),
    NestedField(15, "dropped_frame_events", IntegerType()),
    NestedField(16, "non_monotonic_pts", IntegerType()),
    NestedField(
        17,
        "timing_events",
        ListType(element_id=120, element_type=StringType(), element_required=True),
    ),
    _string(18, "sampling"),  # provenance: e.g. "every:1", "every:5", "fps:2.0"
    _string(19, "frame_encoding"),  # e.g. "png", "jpeg:q90"
    _string(20, "ingest_id", required=True),
    NestedField(21, "ingested_at", TimestamptzType(), required=True),
)

CHECKS_SCHEMA = Schema(
    _string(1, "asset_id", required=True),
    _string(2, "check", required=True),
    NestedField(3, "passed", BooleanType(), required=True),
    NestedField(4, "value", DoubleType()),
    _string(5, "detail"),
    _string(6, "policy", required=True),
    _string(7, "run_id", required=True),
    NestedField(8, "checked_at", TimestamptzType(), required=True),
)

DUPLICATES_SCHEMA = Schema(
    _string(1, "asset_id", required=True),
    _string(2, "duplicate_of", required=True),
    NestedField(3, "distance", IntegerType(), required=True),
    _string(4, "method", required=True),  # 'exact' | 'phash' | ...
    _string(5, "run_id", required=True),
    NestedField(6, "found_at", TimestamptzType(), required=True),
)

SCHEMAS = {
    ASSETS: ASSETS_SCHEMA,
    SOURCES: SOURCES_SCHEMA,
    QUARANTINE: QUARANTINE_SCHEMA,
    ANNOTATIONS: ANNOTATIONS_SCHEMA,
    VIDEOS: VIDEOS_SCHEMA,
    CHECKS: CHECKS_SCHEMA,
    DUPLICATES: DUPLICATES_SCHEMA,
}

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
    # Encoded images do not compress: zstd cost 1.7x write time through pyiceberg (2.3x in
    # pyarrow) for files 0.05% smaller (tests/bench/bench_table_properties.py).
    "write.parquet.compression-codec": "uncompressed",
    "write.metadata.metrics.column.content": "none",
    # pyarrow dictionary-encodes every column until the dictionary page passes this size:
    # pointless for unique image bytes, so fall back to plain encoding after the first image.
    "write.parquet.dict-size-bytes": "65536",
    "write.parquet.row-group-limit": "256",  # row_group_rows(ASSUMED_MEAN_ASSET_BYTES)
}

_METADATA_TABLE_PROPERTIES = {**_COMMON_PROPERTIES, "write.parquet.compression-codec": "zstd"}

PROPERTIES = {
    name: _BYTES_TABLE_PROPERTIES if name in (ASSETS, QUARANTINE) else _METADATA_TABLE_PROPERTIES
    for name in TABLES
}


def row_group_rows(mean_asset_bytes: float) -> int:
    """Rows per Parquet row group so a row group holds about ROW_GROUP_TARGET_BYTES.

    Rounded to a power of two so the table property changes only when the mean image size
    really moves, not with every batch.
    """
    rows = ROW_GROUP_TARGET_BYTES / max(mean_asset_bytes, 1.0)
    return max(16, min(65_536, 1 << round(math.log2(max(rows, 1.0)))))
