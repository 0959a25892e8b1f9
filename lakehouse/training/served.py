"""What a loader served: enough for a training run to log and a later run to reproduce or prove.

Every loader (Ray, PyTorch, Hugging Face) records one `ServedRecord` when it plans a read: the
dataset version (id, fingerprint, per-table snapshots), the request (columns, decode, resize,
filter, seed) and `order_digest`, a sha256 over the served asset ids in serving order. The
same ref and seed give the same digest on every run; `lakehouse verify` proves the version's
bytes. The record is kept in-process (`last_served()`) and written to the audit log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.api import Lakehouse
from lakehouse.training.plan import ReadPlan

_last: ServedRecord | None = None


@dataclass(frozen=True)
class ServedRecord:
    dataset: str
    ref: str | None  # the ref asked for (None: a version or snapshot id was)
    version_id: int
    fingerprint: str | None
    snapshots: dict[str, int]
    loader: str  # 'ray' | 'torch' | 'huggingface'
    rows: int
    order_digest: str
    request: dict[str, Any] = field(default_factory=dict)  # columns, decode, resize, seed, filter

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def record_served(lake: Lakehouse, plan: ReadPlan, loader: str) -> ServedRecord:
    """Remember what `plan` serves, in this process and in the audit log."""
    global _last
    version = plan.version
    record = ServedRecord(
        dataset=version.dataset,
        ref=plan.ref,
        version_id=version.version_id,
        fingerprint=version.properties.get("fingerprint"),
        snapshots=dict(version.snapshots),
        loader=loader,
        rows=plan.rows,
        order_digest=plan.order_digest,
        request=plan.options.describe(),
    )
    target = plan.ref or str(version.version_id)
    lake.control.record("serve", version.dataset, target, "ok", record.to_dict(), lake.actor)
    _last = record
    return record


def last_served() -> ServedRecord | None:
    """The record of the last read planned in this process (None before any)."""
    return _last
