"""Lineage: which inputs (files, table snapshots) produced which table snapshots, by which job.

Recorded in the control plane (`lakehouse_lineage`) for every job that writes a version, and
for data that leaves the lake (export, training loads), so "which bytes trained which model"
has an answer: `lakehouse lineage DATASET`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lakehouse
from lakehouse.control import ControlPlane, Endpoint, Version


def changed_tables(before: Version | None, after: Version) -> list[str]:
    if before is None:
        return list(after.snapshots)
    return [t for t, s in after.snapshots.items() if before.snapshots.get(t) != s]


def record_version(
    control: ControlPlane,
    job: str,
    parameters: Mapping[str, Any],
    actor: str,
    inputs: Sequence[Endpoint],
    before: Version | None,
    after: Version,
) -> None:
    """Edges from every input to every table snapshot `after` changed relative to `before`."""
    outputs = [
        Endpoint(after.dataset, table, after.snapshots[table])
        for table in changed_tables(before, after)
    ]
    control.record_lineage(
        job,
        {**parameters, "version_id": after.version_id},
        lakehouse.__version__,
        actor,
        [(src, dst) for src in inputs for dst in outputs],
    )


def version_inputs(version: Version, tables: Sequence[str]) -> list[Endpoint]:
    return [Endpoint(version.dataset, t, version.snapshots[t]) for t in tables]


def record_outflow(
    control: ControlPlane,
    job: str,
    parameters: Mapping[str, Any],
    actor: str,
    version: Version,
    tables: Sequence[str],
    destination: str,
) -> None:
    """Data leaving the lake (an export, a training run) from a version's tables."""
    control.record_lineage(
        job,
        {**parameters, "version_id": version.version_id},
        lakehouse.__version__,
        actor,
        [(src, Endpoint(uri=destination)) for src in version_inputs(version, tables)],
    )
