"""Build the Arrow rows of `assets`, `quarantine`, `sources` and `videos` from ingest results
(pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.ingest.packed import pack, unpack
from lakehouse.ingest.plan import Decision
from lakehouse.media.inspect import Inspection
from lakehouse.schema import (
    ASSETS,
    ASSETS_SCHEMA,
    QUARANTINE,
    QUARANTINE_SCHEMA,
    SOURCES,
    SOURCES_SCHEMA,
    VIDEOS,
    VIDEOS_SCHEMA,
)

if TYPE_CHECKING:
    from lakehouse.video import Frame, VideoPolicy, VideoResult

ASSETS_ARROW = ASSETS_SCHEMA.as_arrow()
QUARANTINE_ARROW = QUARANTINE_SCHEMA.as_arrow()
SOURCES_ARROW = SOURCES_SCHEMA.as_arrow()
VIDEOS_ARROW = VIDEOS_SCHEMA.as_arrow()
ARROW = {
    ASSETS: ASSETS_ARROW,
    QUARANTINE: QUARANTINE_ARROW,
    SOURCES: SOURCES_ARROW,
    VIDEOS: VIDEOS_ARROW,
}


@dataclass(frozen=True)
class ContentRef:
    """A file's bytes as a position in a worker batch's Arrow array: copied only when written."""

    array: pa.LargeBinaryArray
    position: int

    def to_bytes(self) -> bytes:
        return self.array[self.position].as_py()


def asset_row(
    decision: Decision,
    inspection: Inspection,
    content: ContentRef,
    size: int,
    ingest_id: str,
    at: datetime,
    attrs: Mapping[str, str],
) -> dict[str, Any]:
    header = inspection.header
    assert header is not None and decision.sha256 is not None
    return {
        "asset_id": decision.sha256,
        "content": content,
        "media_type": inspection.media_type,
        "kind": "image",
        "width": header.width,
        "height": header.height,
        "channels": header.channels,
        "bit_depth": header.bit_depth,
        "byte_size": size,
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
    sha256: str,
    content: bytes | None,
    byte_size: int,
    media_type: str | None,
    quarantine_id: str,
    category: str,
    reasons: tuple[str, ...],
    detail: str,
    ingest_id: str,
    policy_tag: str,
    at: datetime,
) -> dict[str, Any]:
    """A `quarantine` row of an image or a video; `content` is None for a video too big to copy."""
    return {
        "quarantine_id": quarantine_id,
        "content": content,
        "source_uri": decision.entry.source_uri,
        "ingest_id": ingest_id,
        "category": category,
        "reasons": list(reasons),
        "detail": detail,
        "status": "open",
        "media_type": media_type,
        "byte_size": byte_size,
        "policy": policy_tag,
        "created_at": at,
        "sha256": sha256,
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
        [_column([row[field.name] for row in rows], field.type) for field in schema],
        schema=schema,
    )


def _column(values: list[Any], type_: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if values and isinstance(values[0], ContentRef):
        return _referenced(values)
    if pa.types.is_large_binary(type_) and None not in values:
        return _large_binary(values)
    return pa.array(values, type=type_)


def _referenced(values: list[ContentRef]) -> pa.ChunkedArray:
    """Runs of consecutive positions in one array become zero-copy slices of it."""
    chunks, start = [], 0
    for end in range(1, len(values) + 1):
        if (
            end == len(values)
            or values[end].array is not values[end - 1].array
            or values[end].position != values[end - 1].position + 1
        ):
            first = values[start]
            chunks.append(first.array.slice(first.position, end - start))
            start = end
    return pa.chunked_array(chunks, pa.large_binary())


def _large_binary(values: list[bytes]) -> pa.Array:
    """Image bytes in one copy: `pa.array` grows its buffer by reallocation, copying (and
    faulting in fresh pages for) tens of MB several times per window."""
    return unpack([len(v) for v in values], pack(values))


def frame_row(
    frame: Frame,
    content: ContentRef,
    size: int,
    source_uri: str,
    ingest_id: str,
    at: datetime,
    attrs: Mapping[str, str],
    result_provenance: tuple[tuple[str, str], ...],
) -> dict[str, Any]:
    """An `assets` row of kind 'frame'; `result_provenance` records sampling and encoding."""
    return {
        "asset_id": frame.sha256,
        "content": content,
        "media_type": frame.media_type,
        "kind": "frame",
        "width": frame.width,
        "height": frame.height,
        "channels": 3,
        "bit_depth": 8,
        "byte_size": size,
        "phash": frame.phash,
        "video_id": frame.video_id,
        "frame_index": frame.frame_index,
        "pts_ms": frame.pts_ms,
        "source_uri": source_uri,
        "ingest_id": ingest_id,
        "ingested_at": at,
        "attrs": [*attrs.items(), *result_provenance],
        "format": FRAME_FORMATS[frame.media_type],
        "color_mode": "rgb",
        "exif_orientation": None,
    }


FRAME_FORMATS = {"image/png": "png", "image/jpeg": "jpeg"}


def frame_provenance(policy: VideoPolicy) -> tuple[tuple[str, str], ...]:
    """Attrs every frame carries: how it was sampled and encoded (also in `videos`)."""
    return (
        ("lakehouse.sampling", policy.sampling),
        ("lakehouse.frame_encoding", policy.frame_encoding),
    )


def video_row(
    result: VideoResult, source_uri: str, frames_stored: int, ingest_id: str, at: datetime
) -> dict[str, Any]:
    timing = result.timing
    return {
        "video_id": result.video_id,
        "source_uri": source_uri,
        "container": result.container or "unknown",
        "codec": result.codec,
        "fps": result.fps,
        "frame_count": result.frame_count,
        "frames_decoded": result.frames_decoded,
        "frames_stored": frames_stored,
        "duration_s": result.duration_s,
        "width": result.width,
        "height": result.height,
        "byte_size": result.byte_size,
        "median_interval_ms": timing.median_interval_ms if timing else None,
        "max_interval_ms": timing.max_interval_ms if timing else None,
        "dropped_frame_events": len(timing.dropped) if timing else None,
        "non_monotonic_pts": timing.non_monotonic if timing else None,
        "timing_events": list(result.events),
        "sampling": result.sampling,
        "frame_encoding": result.frame_encoding,
        "ingest_id": ingest_id,
        "ingested_at": at,
    }
