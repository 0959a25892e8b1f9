"""The labels step of an ingest: after the images of the root are committed on the work
branch, match the labels file to them and commit `annotations` and label problems there too.

A re-import of the same label source (a corrected file) rewrites only the annotation rows
that changed (deleted, then appended anew); image bytes are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import And

from lakehouse import tables as iceberg
from lakehouse.errors import IngestRootError
from lakehouse.filters import equal, is_in
from lakehouse.labels import (
    FileFacts,
    LabelPolicy,
    LabelSet,
    align,
    annotation_table,
    file_facts,
    guess_image_prefix,
    label_changes,
    load_labels,
    parse_coco,
    quarantine_table,
)
from lakehouse.schema import ANNOTATIONS, ASSETS, QUARANTINE, SOURCES


@dataclass(frozen=True)
class LabelRequest:
    path: str
    source: str | None = None  # stable name of the label source; default: the file's uri
    prefix: str | None = None  # where the labels' file names live below the root

    @property
    def label_source(self) -> str:
        return self.source or Path(self.path).resolve().as_uri()


def preflight(request: LabelRequest) -> None:
    """Fail before any write when a COCO file cannot be imported at all."""
    path = Path(request.path)
    if not path.exists():
        raise IngestRootError(request.path, "labels file or directory does not exist")
    if path.is_file():
        parse_coco(path)


def import_labels(
    catalog: Catalog,
    dataset: str,
    ingest_id: str,
    root: Path,
    request: LabelRequest,
    policy: LabelPolicy,
    policy_tag: str,
    work_branch: str,
    checkpoint: dict[str, int],
    fork_snapshots: Mapping[str, int],
) -> dict[str, Any]:
    """Align and commit; updates `checkpoint` with the new heads; returns the report."""
    tables = iceberg.load_tables(catalog, dataset)
    ledger = _ledger(tables[SOURCES], checkpoint[SOURCES], ingest_id, str(root))
    assets = _assets(tables[ASSETS], checkpoint[ASSETS])
    files, not_ingested = file_facts(ledger, assets)
    labels = load_labels(request.path, files, root)
    prefix = request.prefix if request.prefix is not None else _prefix(request, labels, files)
    by_hash = {
        asset_id: FileFacts(
            asset_id, int(a["width"]), int(a["height"]), a["source_uri"], a["exif_orientation"]
        )
        for asset_id, a in assets.items()
    }
    alignment = align(
        labels,
        files,
        request.label_source,
        policy,
        by_hash=by_hash,
        image_prefix=prefix,
        not_ingested=not_ingested,
    )
    stored = _stored(tables[ANNOTATIONS], checkpoint[ANNOTATIONS], request.label_source)
    changes = label_changes(stored, alignment)
    at = datetime.now(UTC)
    properties = {
        "lakehouse.operation": "labels",
        "lakehouse.ingest_id": ingest_id,
        "lakehouse.label_source": request.label_source,
        "lakehouse.categories": json.dumps(alignment.categories, sort_keys=True),
    }
    identifier = f"{dataset}.{ANNOTATIONS}"
    if changes.to_delete:
        iceberg.delete_rows(
            catalog,
            identifier,
            is_in("annotation_id", list(changes.to_delete)),
            work_branch,
            properties,
            fork_from=fork_snapshots[ANNOTATIONS],
        )
    wanted = {row["annotation_id"] for row in changes.rows_to_append(alignment)}
    rows = annotation_table(alignment, ingest_id, at)
    rows = rows.filter(
        pa.array([i in wanted for i in rows.column("annotation_id").to_pylist()], pa.bool_())
    )
    if rows.num_rows:
        checkpoint[ANNOTATIONS] = iceberg.append(
            catalog,
            identifier,
            rows,
            work_branch,
            properties,
            fork_from=fork_snapshots[ANNOTATIONS],
        )
    elif changes.to_delete:
        checkpoint[ANNOTATIONS] = (
            catalog.load_table(identifier).metadata.refs[work_branch].snapshot_id
        )
    problems = quarantine_table(alignment, ingest_id, policy_tag, at)
    known = _quarantine_ids(tables[QUARANTINE], checkpoint[QUARANTINE])
    problems = problems.filter(
        pa.array([q not in known for q in problems.column("quarantine_id").to_pylist()], pa.bool_())
    )
    if problems.num_rows:
        checkpoint[QUARANTINE] = iceberg.append(
            catalog,
            f"{dataset}.{QUARANTINE}",
            problems,
            work_branch,
            properties,
            fork_from=fork_snapshots[QUARANTINE],
        )
    return {**alignment.to_dict(), "changes": changes.to_dict()}


def _prefix(request: LabelRequest, labels: LabelSet, files: Mapping[str, FileFacts]) -> str:
    return "" if Path(request.path).is_dir() else guess_image_prefix(labels, files)


def _ledger(table: Any, snapshot: int, ingest_id: str, root: str) -> list[dict[str, Any]]:
    scan = table.scan(
        snapshot_id=snapshot,
        row_filter=And(equal("ingest_id", ingest_id), equal("root", root)),
        selected_fields=("rel_path", "source_uri", "outcome", "asset_id", "detail"),
    )
    return scan.to_arrow().to_pylist()


def _assets(table: Any, snapshot: int) -> dict[str, dict[str, Any]]:
    scan = table.scan(
        snapshot_id=snapshot,
        selected_fields=("asset_id", "width", "height", "exif_orientation", "source_uri"),
    )
    return {row["asset_id"]: row for row in scan.to_arrow().to_pylist()}


def _stored(table: Any, snapshot: int, label_source: str) -> dict[str, str]:
    scan = table.scan(
        snapshot_id=snapshot,
        row_filter=equal("source", label_source),
        selected_fields=("annotation_id", "content_sha256"),
    )
    return {r["annotation_id"]: r["content_sha256"] for r in scan.to_arrow().to_pylist()}


def _quarantine_ids(table: Any, snapshot: int) -> set[str]:
    scan = table.scan(snapshot_id=snapshot, selected_fields=("quarantine_id",))
    return set(scan.to_arrow().column(0).to_pylist())
