"""The typed Python API. The CLI is a thin shell over these methods.

Every operation that changes something is recorded in the audit log, allowed or denied.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
from pyiceberg.catalog import Catalog

from lakehouse import maintenance, remediation, versioning
from lakehouse import tables as iceberg
from lakehouse.audits import run_audits
from lakehouse.config import Settings, load_settings
from lakehouse.control import ControlPlane, Ref, Version, current_actor
from lakehouse.dedup_run import dedup_branch
from lakehouse.diff import VersionDiff, diff_versions
from lakehouse.errors import (
    CommitConflict,
    ConfigError,
    LakehouseError,
    RefNotFound,
    UsageError,
)
from lakehouse.export import ExportReport, export_version
from lakehouse.gate import (
    Check,
    audit_check,
    dedup_check,
    gate,
    policy_check,
    validation_check,
)
from lakehouse.heap import long_lived_frozen, recycled_allocations
from lakehouse.ingest.digests import prune as prune_digests
from lakehouse.ingest.inspect_task import inspect_images
from lakehouse.ingest.labels_step import LabelRequest
from lakehouse.ingest.run import IngestReport, IngestRequest, run_ingest
from lakehouse.ingest.video_task import BATCH_BYTES, BATCHES_IN_FLIGHT, extract_video
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.lineage import record_outflow
from lakehouse.maintenance import MaintenanceReport
from lakehouse.policy import Policy, load_policy
from lakehouse.query import plan, run_sql
from lakehouse.raykit import stream_submitter, task_submitter
from lakehouse.remediation import QuarantineExport, Remediation
from lakehouse.resolve import resolve_version
from lakehouse.resources import resource_dir
from lakehouse.schema import ASSETS, TABLES
from lakehouse.sqlfiles import SqlFile, load_sql
from lakehouse.validate import ValidateReport, run_validate, validate_part
from lakehouse.verify import VerifyReport, verify_version


class Lakehouse:
    """A lakehouse installation: one catalog, one warehouse, one control plane."""

    def __init__(self, settings: Settings, actor: str | None = None) -> None:
        self.settings = settings
        self.actor = actor or current_actor()

    @classmethod
    def open(
        cls, settings: Settings | None = None, config_file: str | Path | None = None
    ) -> Lakehouse:
        return cls(settings or load_settings(config_file))

    @cached_property
    def catalog(self) -> Catalog:
        self._prepare_home()
        return iceberg.open_catalog(self.settings.catalog)

    @cached_property
    def control(self) -> ControlPlane:
        self._prepare_home()
        return ControlPlane(self.settings.control_uri)

    def init(self) -> dict[str, str]:
        """Create the catalog database, warehouse and control tables (idempotent)."""
        _ = self.catalog, self.control
        return {
            "home": str(self.settings.home),
            "catalog": self.settings.catalog.uri,
            "warehouse": self.settings.catalog.warehouse,
            "control": self.settings.control_uri,
        }

    def policy(self, name_or_path: str | None = None) -> Policy:
        """A policy by name (quality/policies/<name>.toml) or by path."""
        choice = name_or_path or self.settings.ingest.policy
        path = Path(choice)
        if not path.suffix:
            path = resource_dir("quality") / "policies" / f"{choice}.toml"
        if not path.is_file():
            raise ConfigError(f"policy {choice!r} not found (looked at {path})")
        return load_policy(path)

    # writing -----------------------------------------------------------------------------
    def ingest(
        self,
        roots: Iterable[str | Path],
        dataset: str,
        ref: str = "main",
        attrs: Mapping[str, str] | None = None,
        message: str | None = None,
        policy: str | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        labels: str | Path | None = None,
        label_source: str | None = None,
        labels_prefix: str | None = None,
        rehash: bool = False,
    ) -> IngestReport:
        """Ingest files and directory trees; every file found lands in exactly one outcome.

        A file unchanged since an earlier ingest hashed it (same size, mtime, ctime, inode)
        is not read again; `rehash` reads and hashes every file.

        Data goes to a private work branch and is published onto `ref` at the end. `main`
        only accepts the configured policy: ingest with another policy into a branch and
        publish it through the gate.
        """
        chosen = self.policy(policy)
        request = IngestRequest(
            dataset=dataset,
            roots=tuple(str(r) for r in roots),
            ref=ref,
            attrs=dict(attrs or {}),
            message=message,
            labels=LabelRequest(str(labels), label_source, labels_prefix) if labels else None,
            rehash=rehash,
        )
        with self._audit("ingest", dataset, ref, roots=list(request.roots)):
            if ref == "main" and chosen.digest != self.policy().digest:
                raise UsageError(
                    f"main only takes ingests under its policy {self.policy().name!r}; "
                    f"ingest with {chosen.name!r} into a branch and publish it"
                )
            with long_lived_frozen(), recycled_allocations():
                report = run_ingest(
                    self.catalog,
                    self.control,
                    chosen,
                    request,
                    self._ingest_workers(chosen),
                    commit_bytes=self.settings.ingest.commit_bytes,
                    on_progress=on_progress,
                    on_total=on_total,
                )
        self._auto_maintain(dataset, ref)
        return report

    def _ingest_workers(self, policy: Policy) -> IngestWorkers:
        inspect, collect = task_submitter(self.settings.ray, inspect_images, policy.image)
        extract, stream = stream_submitter(
            self.settings.ray,
            extract_video,
            policy.video,
            BATCH_BYTES,
            self.settings.ingest.video_cpus,
            num_cpus=self.settings.ingest.video_cpus,
            backpressure=BATCHES_IN_FLIGHT,
        )
        return IngestWorkers(inspect, collect, extract, stream, self.settings.ingest.files_per_task)

    def branch_create(
        self, dataset: str, name: str, source: str = "main", message: str = ""
    ) -> Ref:
        """A work branch at the head of `source` (a branch, tag or version id)."""
        with self._audit("branch.create", dataset, name, source=source):
            version = self.version(dataset, source)
            return versioning.create_branch(
                self.catalog, self.control, dataset, name, version, self.actor, message
            )

    def branch_delete(self, dataset: str, name: str) -> None:
        with self._audit("branch.delete", dataset, name):
            versioning.delete_branch(self.catalog, self.control, dataset, name, self.actor)

    def tag_create(self, dataset: str, name: str, source: str = "main", message: str = "") -> Ref:
        """An immutable tag on the version `source` names; an existing name is an error."""
        with self._audit("tag.create", dataset, name, source=source):
            version = self.version(dataset, source)
            return versioning.create_tag(
                self.catalog, self.control, dataset, name, version, self.actor, message
            )

    def tag_delete(self, dataset: str, name: str, force: bool = False) -> None:
        with self._audit("tag.delete", dataset, name, force=force):
            versioning.delete_tag(self.catalog, self.control, dataset, name, self.actor, force)

    def refs(self, dataset: str) -> list[Ref]:
        self._require_dataset(dataset)
        return self.control.refs(dataset)

    def publish(
        self,
        dataset: str,
        branch: str,
        message: str,
        target: str = "main",
        override: str | None = None,
        policy: str | None = None,
        checks: Sequence[Check] = (),
    ) -> Version:
        """Publish `branch` onto `target` if the gate passes (or with a recorded override).

        The gate runs the policy check plus any extra `checks`.
        """
        with self._audit("publish", dataset, target, branch=branch, override=override):
            chosen = self.policy(policy)
            head = self.resolve(dataset, ref=branch)
            checks = [
                policy_check(chosen),
                validation_check(chosen, self.control),
                dedup_check(chosen, self.control, head),
                audit_check(chosen),
                *checks,
            ]
            evaluate = gate(
                self.catalog, checks, f"{chosen.name}@{chosen.digest}", override, branch
            )
            version = versioning.publish_branch(
                self.catalog, self.control, dataset, branch, target, message, self.actor, evaluate
            )
        self._auto_maintain(dataset, target)
        return version

    def rollback(
        self, dataset: str, to: str, ref: str = "main", message: str | None = None
    ) -> Version:
        """Point `ref` back at the content of version/tag `to`; history keeps everything."""
        with self._audit("rollback", dataset, ref, to=to):
            version = versioning.rollback(
                self.catalog,
                self.control,
                dataset,
                ref,
                self.version(dataset, to),
                self.actor,
                message,
            )
        self._auto_maintain(dataset, ref)
        return version

    def validate(
        self, dataset: str, ref: str, policy: str | None = None, incremental: bool = True
    ) -> ValidateReport:
        """Re-check a branch's assets (new ones only by default) on Ray; write `checks` and the
        SQL audits' results to the branch as one version."""
        chosen = self.policy(policy)
        with self._audit("validate", dataset, ref, policy=chosen.name, incremental=incremental):
            submit, collect = task_submitter(self.settings.ray, validate_part, chosen.image)
            return run_validate(
                self.catalog,
                self.control,
                dataset,
                ref,
                chosen,
                self.actor,
                submit,
                collect,
                incremental,
                audit_runner=lambda version: run_audits(self.catalog, version, chosen),
            )

    def dedup(
        self, dataset: str, ref: str, policy: str | None = None, incremental: bool = True
    ) -> dict[str, Any]:
        """Exact and near duplicates of a branch's assets (new ones against everything by
        default); rows land in `duplicates` on the branch as one version."""
        chosen = self.policy(policy)
        with self._audit("dedup", dataset, ref, policy=chosen.name, incremental=incremental):
            return dedup_branch(
                self.catalog, self.control, dataset, ref, chosen, self.actor, incremental
            )

    def audit(
        self,
        dataset: str,
        ref: str | None = None,
        policy: str | None = None,
        version_id: int | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Run the policy's SQL audits on a version (read-only)."""
        return run_audits(
            self.catalog, self.resolve(dataset, ref, version_id=version_id), self.policy(policy)
        )

    def maintain(
        self,
        dataset: str,
        keep_versions: int | None = None,
        grace_seconds: int | None = None,
        compact: bool = True,
    ) -> MaintenanceReport:
        """Compact small files, expire snapshots no retained version needs, delete orphans."""
        started = time.perf_counter()
        report = MaintenanceReport(dataset)
        history = self.settings.history
        with self._audit("maintain", dataset, "main", compact=compact):
            self._require_dataset(dataset)
            if compact:
                maintenance.compact(
                    self.catalog,
                    self.control,
                    dataset,
                    self.actor,
                    small_bytes=32 * 1024 * 1024,
                    target_bytes=256 * 1024 * 1024,
                    report=report,
                )
            maintenance.expire(
                self.catalog, self.control, dataset, keep_versions or history.keep_versions, report
            )
            maintenance.collect_garbage(
                self.catalog,
                dataset,
                history.gc_grace_seconds if grace_seconds is None else grace_seconds,
                report,
            )
            report.forgotten_digests = prune_digests(self.control)
        report.seconds = time.perf_counter() - started
        return report

    def _auto_maintain(self, dataset: str, ref: str = "main") -> None:
        """Maintain by itself when a table the last version changed passes the snapshot bound
        (expire + GC) or holds many data files (also compact: scans and the ingest's id scan
        open every file, so small files must not pile up with history)."""
        history = self.settings.history
        head = self.resolve(dataset, ref=ref)
        parent = self.control.version(head.parent_id) if head.parent_id else None
        changed = [
            t for t, s in head.snapshots.items() if parent is None or parent.snapshots.get(t) != s
        ]
        tables = [self.catalog.load_table(f"{dataset}.{t}") for t in changed]
        too_many_files = any(_data_files(t) > history.auto_compact_files for t in tables)
        if too_many_files or any(
            len(t.metadata.snapshots) > history.auto_expire_snapshots for t in tables
        ):
            try:
                self.maintain(dataset, compact=too_many_files)
            except CommitConflict:  # main moved meanwhile: the next operation tries again
                return

    # remediation queue -------------------------------------------------------------------
    # Each status change and export is audited inside lakehouse.remediation (with the
    # outcome's version and asset ids), so these methods do not wrap it in _audit again.
    def quarantine_list(
        self,
        dataset: str,
        ref: str = "main",
        status: str | None = None,
        category: str | None = None,
        reason: str | None = None,
    ) -> list[dict[str, Any]]:
        """Quarantined inputs at `ref`, oldest first: metadata only, never their bytes."""
        return remediation.list_quarantine(self, dataset, ref, status, category, reason)

    def quarantine_show(
        self, dataset: str, quarantine_id: str, ref: str = "main"
    ) -> dict[str, Any]:
        """One item (full id or unique prefix): metadata, ledger rows, who changed it and why."""
        return remediation.show(self, dataset, quarantine_id, ref)

    def quarantine_export(
        self,
        dataset: str,
        destination: str | Path,
        ids: Sequence[str] | None = None,
        ref: str = "main",
        status: str | None = "open",
        category: str | None = None,
        reason: str | None = None,
    ) -> QuarantineExport:
        """Write items' original bytes under their original names, plus a manifest."""
        return remediation.export_quarantined(
            self, dataset, destination, ids, ref, status, category, reason
        )

    def quarantine_release(
        self,
        dataset: str,
        quarantine_id: str,
        branch: str,
        reason: str,
        policy: str | None = None,
    ) -> Remediation:
        """Re-admit an item's original bytes on `branch` through the ingest checks."""
        return remediation.release(self, dataset, quarantine_id, branch, reason, policy)

    def quarantine_replace(
        self,
        dataset: str,
        quarantine_id: str,
        fixed_file: str | Path,
        branch: str,
        reason: str,
        policy: str | None = None,
    ) -> Remediation:
        """Ingest a fixed file for an item on `branch`; the item becomes 'replaced'."""
        return remediation.replace(self, dataset, quarantine_id, fixed_file, branch, reason, policy)

    def quarantine_drop(
        self, dataset: str, quarantine_id: str, branch: str, reason: str
    ) -> Remediation:
        """Close an item on `branch` without re-admitting anything."""
        return remediation.drop(self, dataset, quarantine_id, branch, reason)

    # reading -----------------------------------------------------------------------------
    def resolve(
        self,
        dataset: str,
        ref: str | None = None,
        snapshot_id: int | None = None,
        version_id: int | None = None,
        as_of: datetime | None = None,
    ) -> Version:
        """The version named by a ref, a snapshot id of any table, a version id or a time."""
        return resolve_version(
            self.catalog, self.control, dataset, ref, snapshot_id, version_id, as_of
        )

    def version(self, dataset: str, spec: str) -> Version:
        """A ref name, or else a version id written as digits."""
        if self.control.ref(dataset, spec) is None and spec.isdigit():
            return self.resolve(dataset, version_id=int(spec))
        return self.resolve(dataset, ref=spec)

    def sql(
        self,
        query: str,
        dataset: str,
        ref: str | None = None,
        snapshot_id: int | None = None,
        version_id: int | None = None,
        as_of: datetime | None = None,
    ) -> pl.DataFrame:
        """Run SQL over the dataset's tables (assets, sources, quarantine) at a version."""
        return run_sql(
            self.catalog, self.resolve(dataset, ref, snapshot_id, version_id, as_of), query
        )

    def named_query(self, name: str) -> SqlFile:
        """A SQL file from sql/**/NAME.sql or quality/checks/NAME.sql."""
        found = {f.stem: f for f in sorted(resource_dir("sql").rglob("*.sql"))}
        found.update(
            {f.stem: f for f in sorted((resource_dir("quality") / "checks").glob("*.sql"))}
        )
        if name not in found:
            raise UsageError(f"no named query {name!r}; known: {', '.join(sorted(found))}")
        return load_sql(found[name])

    def sql_plan(
        self, query: str, dataset: str, ref: str | None = None, snapshot_id: int | None = None
    ) -> pl.LazyFrame:
        return plan(self.catalog, self.resolve(dataset, ref, snapshot_id), query)

    def show(self, version: Version) -> dict[str, Any]:
        """A version's record and per-table totals, from metadata only (no data files read)."""
        tables = iceberg.load_tables(self.catalog, version.dataset)
        totals = {}
        for name in TABLES:
            snapshot = tables[name].snapshot_by_id(version.snapshots[name])
            summary = (
                snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
            )
            totals[name] = {
                "snapshot_id": version.snapshots[name],
                "rows": int(summary.get("total-records", 0)),
                "bytes": int(summary.get("total-files-size", 0)),
                "files": int(summary.get("total-data-files", 0)),
            }
        at_version = [
            r.name for r in self.control.refs(version.dataset) if r.version_id == version.version_id
        ]
        return {**version_record(version), "refs": at_version, "tables": totals}

    def verify(
        self,
        dataset: str,
        ref: str | None = None,
        snapshot_id: int | None = None,
        version_id: int | None = None,
        as_of: datetime | None = None,
        threads: int = 2,
        on_progress: Callable[[int], None] | None = None,
    ) -> VerifyReport:
        """Re-hash every asset of a version from storage and recompute its fingerprint."""
        version = self.resolve(dataset, ref, snapshot_id, version_id, as_of)
        report = verify_version(self.catalog, version, threads, on_progress)
        self.control.record(
            "verify",
            dataset,
            str(version.version_id),
            "ok" if report.ok else "problems",
            {"mismatches": len(report.mismatches)},
            self.actor,
        )
        return report

    def export(
        self,
        dataset: str,
        destination: str | Path,
        ref: str | None = None,
        snapshot_id: int | None = None,
        version_id: int | None = None,
        as_of: datetime | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> ExportReport:
        """Write a version's original bytes and manifests under `destination` (audited:
        data leaving the lake is something the audit log must answer for)."""
        version = self.resolve(dataset, ref, snapshot_id, version_id, as_of)
        with self._audit("export", dataset, str(destination), version_id=version.version_id):
            report = export_version(self.catalog, version, Path(destination), on_progress)
        record_outflow(
            self.control,
            "export",
            {},
            self.actor,
            version,
            [ASSETS],
            Path(destination).resolve().as_uri(),
        )
        return report

    def lineage(self, dataset: str) -> list[dict[str, Any]]:
        """Lineage edges into and out of the dataset, oldest first."""
        self._require_dataset(dataset)
        return self.control.lineage(dataset)

    def diff(self, dataset: str, old: str, new: str) -> VersionDiff:
        return diff_versions(self.catalog, self.version(dataset, old), self.version(dataset, new))

    def datasets(self) -> list[str]:
        return self.control.datasets()

    def log(self, dataset: str, ref: str | None = None, limit: int | None = None) -> list[Version]:
        """Versions newest first: all of the dataset's, or the ancestry of one ref."""
        if ref is None:
            self._require_dataset(dataset)
            return self.control.history(dataset, limit)
        found = self.control.ref(dataset, ref)
        if found is None:
            raise RefNotFound(dataset, ref)
        chain: list[Version] = []
        next_id: int | None = found.version_id
        while next_id is not None and (limit is None or len(chain) < limit):
            version = self.control.version(next_id)
            if version is None:
                break
            chain.append(version)
            next_id = version.parent_id
        return chain

    def audit_log(self, dataset: str | None = None) -> list[dict[str, Any]]:
        return self.control.audit_log(dataset)

    # plumbing ----------------------------------------------------------------------------
    @contextmanager
    def _audit(self, action: str, dataset: str, target: str, **detail: Any) -> Iterator[None]:
        try:
            yield
        except LakehouseError as exc:
            self.control.record(
                action, dataset, target, "denied", {**detail, "error": str(exc)}, self.actor
            )
            raise
        self.control.record(action, dataset, target, "ok", detail, self.actor)

    def _require_dataset(self, dataset: str) -> None:
        self.resolve(dataset)

    def _prepare_home(self) -> None:
        for uri in (self.settings.catalog.uri, self.settings.control_uri):
            if uri.startswith("sqlite:///"):
                Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        warehouse = self.settings.catalog.warehouse
        if warehouse.startswith("file://"):
            Path(warehouse.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


def _data_files(table: Any) -> int:
    snapshot = table.current_snapshot()
    summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
    return int(summary.get("total-data-files", 0))


def version_record(version: Version) -> dict[str, Any]:
    """A version as plain data (for `log`, `show` and JSON output)."""
    props = version.properties
    return {
        "version_id": version.version_id,
        "parent_id": version.parent_id,
        "created_at": version.created_at.isoformat(),
        "actor": version.actor,
        "operation": version.operation,
        "message": version.message,
        "fingerprint": props.get("fingerprint"),
        "asset_count": props.get("asset_count", 0),
        "counts": props.get("counts"),
        "verdict": props.get("verdict"),
        "snapshots": dict(version.snapshots),
    }
