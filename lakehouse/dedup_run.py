"""`lakehouse dedup DATASET --ref BRANCH`: find exact and near duplicates, write `duplicates`.

I/O around the pure core in `lakehouse.dedup`: reads pHashes (metadata only) of every asset on
the branch, with those added since the branch's last dedup run last (incremental: only pairs
involving them are searched), reads image bytes only for candidate pairs that need the second
signal, and lands the rows on the branch as one version with lineage properties; the publish
gate compares its input snapshot with the branch head.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
from pyiceberg.catalog import Catalog

import lakehouse
from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.dedup import duplicate_rows, run_dedup, signatures_from_content
from lakehouse.filters import is_in
from lakehouse.history import added_files, read_columns
from lakehouse.lineage import record_version, version_inputs
from lakehouse.policy import Policy
from lakehouse.publish import publish_work_branch
from lakehouse.resolve import job_branch_head
from lakehouse.schema import ANNOTATIONS, ASSETS, DUPLICATES, DUPLICATES_SCHEMA, SOURCES

_IN_BATCH = 200  # pyiceberg stops pruning files by an In filter past 200 values


def dedup_branch(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    branch: str,
    policy: Policy,
    actor: str,
    incremental: bool = True,
) -> dict[str, Any]:
    started = time.perf_counter()
    head = job_branch_head(control, dataset, branch, "dedup")
    tables = iceberg.load_tables(catalog, dataset)
    previous = _last_dedup(control, head) if incremental else None
    since = previous.properties["input_snapshots"][ASSETS] if previous else None
    rows = (
        tables[ASSETS]
        .scan(
            snapshot_id=head.snapshots[ASSETS], selected_fields=("asset_id", "phash", "ingested_at")
        )
        .to_arrow()
    )
    new_ids = (
        {
            r["asset_id"]
            for b in read_columns(
                tables[ASSETS],
                added_files(tables[ASSETS], head.snapshots[ASSETS], since),
                ["asset_id"],
            )
            for r in b.to_pylist()
        }
        if since is not None
        else None
    )
    records = sorted(
        (r for r in rows.to_pylist() if r["phash"] is not None),
        key=lambda r: (
            new_ids is not None and r["asset_id"] in new_ids,
            r["ingested_at"],
            r["asset_id"],
        ),
    )
    ids = [r["asset_id"] for r in records]
    hashes = np.array([r["phash"] for r in records], dtype=np.int64)
    new_from = len(ids) - len(new_ids) if new_ids is not None else 0

    ledger = (
        tables[SOURCES]
        .scan(snapshot_id=head.snapshots[SOURCES], selected_fields=("asset_id", "source_uri"))
        .to_arrow()
    )
    sources = [
        (r["asset_id"], r["source_uri"])
        for r in ledger.to_pylist()
        if r["asset_id"] and (new_ids is None or r["asset_id"] in new_ids)
    ]
    split_rows = (
        tables[ANNOTATIONS]
        .scan(snapshot_id=head.snapshots[ANNOTATIONS], selected_fields=("asset_id", "split"))
        .to_arrow()
    )
    splits = {r["asset_id"]: r["split"] for r in split_rows.to_pylist() if r["split"]}

    def read(wanted: Sequence[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for i in range(0, len(wanted), _IN_BATCH):
            scan = tables[ASSETS].scan(
                snapshot_id=head.snapshots[ASSETS],
                row_filter=is_in("asset_id", list(wanted[i : i + _IN_BATCH])),
                selected_fields=("asset_id", "content"),
            )
            for batch in scan.to_arrow_batch_reader():
                out.update(
                    zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True)
                )
        return out

    result = run_dedup(
        ids,
        hashes,
        policy.dedup,
        signatures_from_content(read),
        new_from=new_from,
        sources=sources,
        splits=splits,
    )
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    found = duplicate_rows(result, run_id, datetime.now(UTC))
    work = f"lakehouse-dedup-{run_id}"
    if found:
        data = pa.Table.from_pylist(found, schema=DUPLICATES_SCHEMA.as_arrow())
        iceberg.append(
            catalog,
            f"{dataset}.{DUPLICATES}",
            data,
            work,
            {"lakehouse.operation": "dedup", "lakehouse.run_id": run_id},
            fork_from=head.snapshots[DUPLICATES],
        )
    summary = result.summary()
    version = publish_work_branch(
        catalog,
        control,
        dataset,
        work,
        head,
        branch,
        operation="dedup",
        message=f"dedup {summary['new_assets']} new of {summary['assets']} assets",
        actor=actor,
        properties={
            "job": "dedup",
            "run_id": run_id,
            "policy": f"{policy.name}@{policy.digest}",
            "parameters": {"incremental": incremental},
            "input_snapshots": dict(head.snapshots),
            "summary": summary,
            "code_version": lakehouse.__version__,
        },
    )
    record_version(
        control,
        "dedup",
        {"run_id": run_id, "incremental": incremental},
        actor,
        version_inputs(head, [ASSETS]),
        head,
        version,
    )
    return {
        **summary,
        "run_id": run_id,
        "version_id": version.version_id,
        "rows": len(found),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _last_dedup(control: ControlPlane, head: Version) -> Version | None:
    return next((v for v in control.ancestry(head) if v.properties.get("job") == "dedup"), None)
