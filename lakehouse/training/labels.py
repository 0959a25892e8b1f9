"""Annotations of a version, grouped per asset on the driver: for filters and label columns.

Read once per plan (metadata only, the `annotations` table holds no image bytes) and joined to
the planned rows there, so workers receive each asset's labels with the rows they read and
never open the `annotations` table themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog

from lakehouse.control import Version
from lakehouse.schema import ANNOTATIONS
from lakehouse.training.options import matches

ANNOTATION_TYPE = pa.struct(
    [
        ("annotation_id", pa.string()),
        ("category", pa.string()),
        ("category_id", pa.int64()),
        ("bbox", pa.list_(pa.float64())),  # [x, y, w, h] in pixels; null: image-level label
        ("split", pa.string()),
    ]
)
ANNOTATIONS_TYPE = pa.list_(ANNOTATION_TYPE)
_READ = ("annotation_id", "asset_id", "category", "category_id", "bbox", "split", "source")


@dataclass(frozen=True)
class Labels:
    """Every asset's annotations (sorted by annotation_id), keyed by asset id."""

    asset_ids: pa.Array  # distinct, sorted (string)
    annotations: pa.ListArray  # aligned with asset_ids
    matching: pa.Array | None  # asset ids with an annotation passing the filters (None: no filter)

    def of(self, asset_ids: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The annotations of each of `asset_ids` (an empty list for an asset without any)."""
        found = pc.index_in(asset_ids, value_set=self.asset_ids)
        taken = self.annotations.take(found)
        return pc.fill_null(taken, pa.scalar([], ANNOTATIONS_TYPE))


def read_labels(catalog: Catalog, version: Version, filters: dict[str, tuple[Any, ...]]) -> Labels:
    """Annotations of `version` grouped per asset; `filters` name the assets to keep."""
    table = catalog.load_table(f"{version.dataset}.{ANNOTATIONS}")
    scan = table.scan(snapshot_id=version.snapshots[ANNOTATIONS], selected_fields=_READ)
    rows = scan.to_arrow().sort_by([("asset_id", "ascending"), ("annotation_id", "ascending")])
    matching = None
    if filters:
        mask = pa.array(np.ones(rows.num_rows, dtype=bool))
        for column, values in filters.items():
            mask = pc.and_(mask, matches(rows[column], values))
        matching = pc.unique(rows.filter(mask)["asset_id"]).cast(pa.string())
    counts = rows.group_by("asset_id", use_threads=False).aggregate([("asset_id", "count")])
    offsets = np.zeros(counts.num_rows + 1, dtype=np.int32)
    np.cumsum(counts["asset_id_count"].to_numpy(), out=offsets[1:])
    values = _annotation_structs(rows)
    annotations = pa.ListArray.from_arrays(pa.array(offsets), values)
    return Labels(counts["asset_id"].combine_chunks().cast(pa.string()), annotations, matching)


def categories(annotations: pa.Array) -> pa.Array:
    """The `category` column: each asset's annotation categories, in annotation order."""
    return pa.ListArray.from_arrays(annotations.offsets, annotations.values.field("category"))


def _annotation_structs(rows: pa.Table) -> pa.StructArray:
    bbox = rows["bbox"].combine_chunks()
    corners = [
        pc.fill_null(bbox.field(k), 0.0).to_numpy(zero_copy_only=False)
        for k in ("x", "y", "w", "h")
    ]
    flat = np.stack(corners, axis=1).reshape(-1) if rows.num_rows else np.zeros(0)
    boxes = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 4 * rows.num_rows + 1, 4, dtype=np.int32)),
        pa.array(flat, pa.float64()),
        mask=bbox.is_null(),
    )
    arrays = [
        rows[name].combine_chunks().cast(ANNOTATION_TYPE.field(name).type)
        for name in ("annotation_id", "category", "category_id")
    ]
    split = rows["split"].combine_chunks().cast(pa.string())
    return pa.StructArray.from_arrays([*arrays, boxes, split], fields=list(ANNOTATION_TYPE))
