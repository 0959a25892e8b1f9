"""Build the Arrow rows of `assets`, `quarantine` and `sources` from ingest results (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from lakehouse.ingest.inspect_task import Inspected
from lakehouse.ingest.plan import Decision
from lakehouse.schema import ASSETS_SCHEMA, QUARANTINE_SCHEMA, SOURCES_SCHEMA

ASSETS_ARROW = ASSETS_SCHEMA.as_arrow()
QUARANTINE_ARROW = QUARANTINE_SCHEMA.as_arrow()
SOURCES_ARROW = SOURCES_SCHEMA.as_arrow()


def asset_row(
    decision: Decision,
    result: Inspected,
    ingest_id: str,
    at: datetime,
    attrs: Mapping[str, str],
) -> dict[str, Any]:
    inspection, header = result.inspection, result.inspection.header if result.inspection else None
    assert inspection is not None and header is not None and result.content is not None
    return {
        "asset_id": result.sha256,
        "content": result.content,
        "media_type": inspection.media_type,
        "kind": "image",
        "width": header.width,
        "height": header.height,
        "channels": header.channels,
        "bit_depth": header.bit_depth,
        "byte_size": len(result.content),
        "phash": inspection.phash,
        "video_id": None,
        "frame_index": None,
        "pts_ms": None,
        "source_uri": decision.entry.source_uri,
        "ingest_id": ingest_id,
        "ingested_at": at,
        "attrs": list(attrs.items()),
        "format": header.format,
        "color_mode": header.color_mode,
        "exif_orientation": header.exif_orientation,
    }


def quarantine_row(
    decision: Decision,
    result: Inspected,
    quarantine_id: str,
    category: str,
    reasons: tuple[str, ...],
    detail: str,
    ingest_id: str,
    policy_tag: str,
    at: datetime,
) -> dict[str, Any]:
    assert result.content is not None and result.sha256 is not None
    media_type = result.inspection.media_type if result.inspection else None
    return {
        "quarantine_id": quarantine_id,
        "content": result.content,
        "source_uri": decision.entry.source_uri,
        "ingest_id": ingest_id,
        "category": category,
        "reasons": list(reasons),
        "detail": detail,
        "status": "open",
        "media_type": media_type,
        "byte_size": len(result.content),
        "policy": policy_tag,
        "created_at": at,
        "sha256": result.sha256,
    }


def source_row(decision: Decision, ingest_id: str, at: datetime) -> dict[str, Any]:
    assert decision.outcome is not None
    return {
        "ingest_id": ingest_id,
        "source_uri": decision.entry.source_uri,
        "root": decision.entry.root,
        "rel_path": decision.entry.rel_path,
        "byte_size": decision.entry.size,
        "outcome": decision.outcome,
        "asset_id": decision.asset_id,
        "quarantine_id": decision.quarantine_id,
        "detail": decision.detail,
        "seen_at": at,
    }


def to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Column by column: ~10x faster than `Table.from_pylist` for a window of image bytes."""
    return pa.Table.from_arrays(
        [pa.array([row[field.name] for row in rows], type=field.type) for field in schema],
        schema=schema,
    )
