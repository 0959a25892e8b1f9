"""What a training read asks for: columns, decoding, resizing, filters and order, checked once.

Output columns are any `assets` column but `content`, plus:
- `image`: the decoded pixels (`decode` set: uint8 HxWxC, C=3 for 'rgb'/'bgr', 1 for 'gray'),
  or the original encoded bytes (`decode=None`);
- `content`: the original encoded bytes;
- `annotations`: the asset's labels, a list of {annotation_id, category, category_id,
  bbox [x, y, w, h] or null, split} ordered by annotation_id;
- `category`: the categories of those labels, in the same order.

A filter maps a column to a value or a list of accepted values. `assets` columns filter rows
directly; `annotations` columns (category, category_id, split, source) keep an asset when one
of its annotations matches all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.errors import UsageError
from lakehouse.schema import ASSETS_SCHEMA

IMAGE, CONTENT = "image", "content"
LABEL_COLUMNS = ("annotations", "category")
ANNOTATION_FILTERS = ("category", "category_id", "split", "source")
ASSET_COLUMNS = tuple(f.name for f in ASSETS_SCHEMA.fields if f.name != CONTENT)
ASSET_FILTERS = tuple(name for name in ASSET_COLUMNS if name != "attrs")
DECODE_CHANNELS = {"rgb": 3, "bgr": 3, "gray": 1}
DEFAULT_COLUMNS = ("asset_id", IMAGE)

# Planning units, in bytes of pixels (width * height * channels), never compressed sizes: a
# read task decodes about TASK_BYTES of pixels, and yields blocks of about BLOCK_BYTES.
TASK_BYTES = 256 * 1024 * 1024
BLOCK_BYTES = 64 * 1024 * 1024
METADATA_ROW_BYTES = 128  # estimate of one row of metadata columns

FilterValue = Any | Sequence[Any]


@dataclass(frozen=True)
class ReadOptions:
    """A validated read request; plain data, shipped to every worker."""

    columns: tuple[str, ...] = DEFAULT_COLUMNS
    decode: str | None = "rgb"
    resize: tuple[int, int] | None = None  # (width, height)
    shuffle_seed: int | None = None
    filters: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    task_bytes: int = TASK_BYTES
    block_bytes: int = BLOCK_BYTES

    @classmethod
    def build(
        cls,
        columns: Iterable[str] = DEFAULT_COLUMNS,
        decode: str | None = "rgb",
        resize: tuple[int, int] | None = None,
        shuffle_seed: int | None = None,
        filter: Mapping[str, FilterValue] | None = None,
        task_bytes: int = TASK_BYTES,
        block_bytes: int = BLOCK_BYTES,
    ) -> ReadOptions:
        """Check a request and normalize it (tuples, sorted filters) so equal asks are equal."""
        chosen = tuple(columns)
        known = (*ASSET_COLUMNS, IMAGE, CONTENT, *LABEL_COLUMNS)
        unknown = [c for c in chosen if c not in known]
        if unknown or not chosen or len(set(chosen)) != len(chosen):
            raise UsageError(
                f"columns must be distinct names among {', '.join(known)}; got {list(chosen)}"
            )
        if decode is not None and decode not in DECODE_CHANNELS:
            raise UsageError(f"decode must be one of {sorted(DECODE_CHANNELS)} or None")
        if resize is not None:
            if decode is None or len(resize) != 2 or min(int(v) for v in resize) < 1:
                raise UsageError("resize=(width, height) needs positive sizes and a decode mode")
            resize = (int(resize[0]), int(resize[1]))
        if task_bytes < 1 or block_bytes < 1:
            raise UsageError("task_bytes and block_bytes must be positive")
        return cls(
            chosen, decode, resize, shuffle_seed, _filters(filter or {}), task_bytes, block_bytes
        )

    @property
    def decodes(self) -> bool:
        return IMAGE in self.columns and self.decode is not None

    @property
    def channels(self) -> int:
        return DECODE_CHANNELS[self.decode] if self.decode else 0

    @property
    def label_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c in LABEL_COLUMNS)

    @property
    def asset_filters(self) -> dict[str, tuple[Any, ...]]:
        return {k: v for k, v in self.filters if k in ASSET_FILTERS}

    @property
    def annotation_filters(self) -> dict[str, tuple[Any, ...]]:
        return {k: v for k, v in self.filters if k not in ASSET_FILTERS}

    def read_columns(self) -> list[str]:
        """The Parquet columns a worker reads: `content` only when bytes or pixels are asked."""
        wanted = [c for c in self.columns if c in ASSET_COLUMNS]
        if IMAGE in self.columns or CONTENT in self.columns:
            wanted.append(CONTENT)
        if self.decodes:  # the decoder names the asset in errors and picks reduced decoding
            wanted += ["asset_id", "format", "width", "height", "exif_orientation"]
        return list(dict.fromkeys(wanted))

    def describe(self) -> dict[str, Any]:
        """The request as plain data, for the served record."""
        return {
            "columns": list(self.columns),
            "decode": self.decode if self.decodes else None,
            "resize": list(self.resize) if self.resize else None,
            "seed": self.shuffle_seed,
            "filter": {k: list(v) for k, v in self.filters},
        }


def _filters(given: Mapping[str, FilterValue]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    normalized = []
    for column, value in sorted(given.items()):
        if column not in ASSET_FILTERS and column not in ANNOTATION_FILTERS:
            raise UsageError(
                f"cannot filter on {column!r}: use an assets column "
                f"({', '.join(ASSET_FILTERS)}) or one of {', '.join(ANNOTATION_FILTERS)}"
            )
        values = tuple(value) if isinstance(value, list | tuple | set | frozenset) else (value,)
        if not values:
            raise UsageError(f"filter on {column!r} accepts no value at all")
        normalized.append((column, tuple(sorted(values, key=repr))))
    return tuple(normalized)


def matches(column: pa.ChunkedArray | pa.Array, values: tuple[Any, ...]) -> pa.ChunkedArray:
    """True where `column` holds one of the filter's `values` (never for nulls)."""
    try:
        accepted = pa.array(values).cast(column.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        raise UsageError(f"filter values {list(values)} do not fit type {column.type}") from None
    return pc.fill_null(pc.is_in(column, value_set=accepted), False)
