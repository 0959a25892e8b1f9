"""The remediation queue: list, show and export quarantined inputs; release, replace or drop them.

A quarantined input keeps its bytes in the `quarantine` table. A user exports them, fixes or
replaces them, and re-admits them on a branch; `main` changes only by publish. Re-admitted
bytes go through the normal ingest on that branch (same checks, same ledger), checked first in
process so that a refusal changes nothing. The status change itself is one Iceberg commit that
rewrites only that quarantine row (copy-on-write of its data file), on a private work branch
published onto the branch as one version (`quarantine.<action>`), and every attempt, allowed or
refused, is an audit record with actor and reason.

A release or replace is two versions on the branch: the ingest of the bytes, then the status
change. Re-running a release interrupted between the two is safe: the bytes are
`already_present` and only the status change is left to do.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import (
    AlwaysFalse,
    AlwaysTrue,
    BooleanExpression,
)
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Version
from lakehouse.errors import CommitConflict, IntegrityError, LakehouseError, UsageError
from lakehouse.export import place
from lakehouse.filters import equal, is_in, starts_with
from lakehouse.history import file_changes, read_columns
from lakehouse.ingest.walk import read_file
from lakehouse.media import is_junk_name, is_video, sniff
from lakehouse.media.inspect import Inspection, inspect_image
from lakehouse.policy import Policy
from lakehouse.publish import publish_work_branch
from lakehouse.schema import QUARANTINE, SOURCES
from lakehouse.versioning import WORK_PREFIX

if TYPE_CHECKING:
    from lakehouse.api import Lakehouse

OPEN, FIXED, REPLACED, DROPPED = "open", "fixed", "replaced", "dropped"
STATUSES = (OPEN, FIXED, REPLACED, DROPPED)
ACTIONS = {"release": FIXED, "replace": REPLACED, "drop": DROPPED}
MANIFEST = "quarantine-manifest.jsonl"
METADATA_COLUMNS = (
    "quarantine_id",
    "sha256",
    "source_uri",
    "ingest_id",
    "category",
    "reasons",
    "detail",
    "status",
    "media_type",
    "byte_size",
    "policy",
    "created_at",
)
# Filled when the quarantine table has them (proposed schema columns; ignored otherwise).
RESOLUTION_COLUMNS = ("resolved_asset_id", "resolved_by", "resolved_at", "resolution_reason")
_MIN_PREFIX = 6
_ATTEMPTS = 20


# errors ------------------------------------------------------------------------------------------
class QuarantineItemNotFound(LakehouseError, LookupError):
    def __init__(self, dataset: str, ref: str, quarantine_id: str, why: str = "") -> None:
        super().__init__(
            f"dataset {dataset!r} at {ref!r} has no quarantine item {quarantine_id!r}"
            + (f" ({why})" if why else " (see `lakehouse quarantine list`)")
        )
        self.dataset, self.ref, self.quarantine_id = dataset, ref, quarantine_id


class QuarantineItemClosed(UsageError):
    """Only an open item can be released, replaced or dropped."""

    def __init__(self, dataset: str, ref: str, quarantine_id: str, status: str) -> None:
        super().__init__(
            f"quarantine item {quarantine_id} of {dataset}@{ref} is {status!r}, not 'open': "
            "only open items can be released, replaced or dropped"
        )
        self.dataset, self.ref, self.quarantine_id, self.status = (
            dataset,
            ref,
            quarantine_id,
            status,
        )


class ReleaseRefused(LakehouseError, ValueError):
    """Bytes offered for re-admission still fail the ingest checks; the item stays open.

    Normally refused before anything is written (`landed` None); `landed` is the version of
    an ingest that ran but did not add the bytes (the in-process check and the ingest
    disagreed, e.g. the policy file changed in between).
    """

    exit_code = 4

    def __init__(
        self,
        quarantine_id: str,
        policy: str,
        reasons: Sequence[str],
        detail: str,
        landed: int | None = None,
    ) -> None:
        outcome = (
            "nothing was changed"
            if landed is None
            else f"the ingest landed as version {landed}, the item stays open"
        )
        super().__init__(
            f"quarantine item {quarantine_id}: the bytes still fail the checks of policy "
            f"{policy!r}: {', '.join(reasons)}"
            + (f" ({detail})" if detail else "")
            + f"; {outcome} (fix the file and `replace`, or `release --policy`)"
        )
        self.quarantine_id, self.policy = quarantine_id, policy
        self.reasons, self.detail, self.landed = list(reasons), detail, landed


# results -----------------------------------------------------------------------------------------
@dataclass
class Remediation:
    """One status change: what happened to which item, on which branch, by whom and why."""

    dataset: str
    quarantine_id: str
    action: str  # 'release' | 'replace' | 'drop'
    branch: str
    status: str  # the new status
    reason: str
    actor: str
    version_id: int  # the version holding the status change
    asset_id: str | None = None  # the re-admitted asset (release, replace)
    ledger_outcome: str | None = None  # the re-admitted file's: 'added' | 'already_present'
    ingest_id: str | None = None
    ingest_version_id: int | None = None
    policy: str | None = None  # policy the bytes were checked against (name@digest)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuarantineExport:
    dataset: str
    version_id: int
    destination: str
    manifest: str
    items: list[dict[str, Any]] = field(default_factory=list)  # quarantine_id, file, ...
    bytes: int = 0
    written: int = 0  # files written now (the others were already in place, same bytes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# reading -----------------------------------------------------------------------------------------
def list_quarantine(
    lake: Lakehouse,
    dataset: str,
    ref: str = "main",
    status: str | None = None,
    category: str | None = None,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Quarantine rows at `ref` (metadata only, never the bytes), oldest first."""
    version = lake.resolve(dataset, ref=ref)
    return read_items(lake.catalog, version, item_filter(status, category), reason)


def show(lake: Lakehouse, dataset: str, quarantine_id: str, ref: str = "main") -> dict[str, Any]:
    """One item at `ref`: its metadata, the ledger rows that point at it, and its history
    (every status change or refused attempt on any branch, with actor and reason)."""
    version = lake.resolve(dataset, ref=ref)
    qid = resolve_id(lake.catalog, version, quarantine_id, ref)
    item = read_items(lake.catalog, version, equal("quarantine_id", qid))[0]
    sources = lake.catalog.load_table(f"{dataset}.{SOURCES}").scan(
        snapshot_id=version.snapshots[SOURCES], row_filter=equal("quarantine_id", qid)
    )
    ledger = sorted(sources.to_arrow().to_pylist(), key=lambda r: (r["seen_at"], r["source_uri"]))
    return {
        **item,
        "ref": ref,
        "version_id": version.version_id,
        "sources": ledger,
        "history": history(lake.control, dataset, qid),
    }


def history(control: ControlPlane, dataset: str, quarantine_id: str) -> list[dict[str, Any]]:
    """Status changes and refused attempts of one item, oldest first, from the audit log.

    (With a `lakehouse_quarantine_events` control table this becomes one indexed query.)
    """
    events = []
    for row in control.audit_log(dataset):
        if not row["action"].startswith("quarantine.") or row["action"] == "quarantine.export":
            continue
        detail = json.loads(row["detail"])
        if detail.get("quarantine_id") != quarantine_id:
            continue
        events.append(
            {
                **{k: v for k, v in detail.items() if k != "quarantine_id"},
                "at": row["at"].isoformat(),
                "actor": row["actor"],
                "host": row["host"],
                "action": row["action"].removeprefix("quarantine."),
                "outcome": row["outcome"],
                "branch": row["target"],
            }
        )
    return events


def export_quarantined(
    lake: Lakehouse,
    dataset: str,
    destination: str | Path,
    ids: Sequence[str] | None = None,
    ref: str = "main",
    status: str | None = OPEN,
    category: str | None = None,
    reason: str | None = None,
) -> QuarantineExport:
    """Write the original bytes of items (`ids`, else every item matching the filter) under
    their original file names in `destination`, plus `quarantine-manifest.jsonl`.

    A name taken by another item (or by the manifest) gets the item's id before its
    extension. Files are never overwritten: re-running the same export is idempotent, and a
    file the user has since edited in place is an error, not lost work.
    """
    version = lake.resolve(dataset, ref=ref)
    target = Path(destination)
    with _audited(
        lake, "quarantine.export", dataset, str(target), ref=ref, version_id=version.version_id
    ) as audit:
        if ids:
            chosen = sorted({resolve_id(lake.catalog, version, q, ref) for q in ids})
            rows = read_items(lake.catalog, version, is_in("quarantine_id", chosen))
        else:
            rows = read_items(lake.catalog, version, item_filter(status, category), reason)
        names = export_names(rows)
        manifest = "".join(manifest_line(row, names[row["quarantine_id"]]) for row in rows)
        if target.exists() and not target.is_dir():
            raise UsageError(f"cannot export into {target}: it is not a directory")
        existing = target / MANIFEST
        if existing.exists() and existing.read_text(encoding="utf-8") != manifest:
            raise UsageError(
                f"{target} holds another quarantine export ({MANIFEST} differs); "
                "export into an empty directory or remove it first"
            )
        target.mkdir(parents=True, exist_ok=True)
        report = QuarantineExport(dataset, version.version_id, str(target), str(existing))
        by_id = {r["quarantine_id"]: r for r in rows}
        for qid, content in _contents(lake.catalog, version, list(by_id)):
            row = by_id[qid]
            actual = hashlib.sha256(content).hexdigest()
            if actual != row["sha256"]:
                raise IntegrityError(row["sha256"], f"quarantine item {qid}", actual)
            report.written += place(target / names[qid], content)
            report.bytes += len(content)
        place(existing, manifest.encode())
        report.items = [
            {
                "quarantine_id": r["quarantine_id"],
                "file": names[r["quarantine_id"]],
                "sha256": r["sha256"],
                "reasons": r["reasons"],
            }
            for r in rows
        ]
        audit.update(quarantine_ids=[r["quarantine_id"] for r in rows], bytes=report.bytes)
    return report


# status changes ----------------------------------------------------------------------------------
def release(
    lake: Lakehouse,
    dataset: str,
    quarantine_id: str,
    branch: str,
    reason: str,
    policy: str | None = None,
) -> Remediation:
    """Re-admit the item's original bytes through the ingest checks on `branch` (optionally
    under another `policy`); refused with the reasons, changing nothing, if they still fail."""
    with _audited(
        lake,
        "quarantine.release",
        dataset,
        branch,
        quarantine_id=quarantine_id,
        reason=reason,
        policy=policy,
    ) as audit:
        head, qid, row = _open_item(lake, dataset, quarantine_id, branch, reason)
        audit["quarantine_id"] = qid
        content = _contents_of(lake.catalog, head, qid, row["sha256"])
        # Staged in the lake's home under the original file name (the name is checked too);
        # the ledger records this path as the re-admitted file's source.
        (lake.settings.home / "remediation").mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f"release-{qid[:12]}-", dir=lake.settings.home / "remediation")
        )
        try:
            path = staging / original_name(row["source_uri"], qid)
            path.write_bytes(content)
            result = _readmit(lake, dataset, qid, row, path, branch, reason, policy, "release")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        audit.update(_outcome(result))
    return result


def replace(
    lake: Lakehouse,
    dataset: str,
    quarantine_id: str,
    fixed_file: str | Path,
    branch: str,
    reason: str,
    policy: str | None = None,
) -> Remediation:
    """Ingest the user's fixed file for the item on `branch` (same checks); the item becomes
    'replaced' and records the new asset id. Refused, changing nothing, if the file fails."""
    fixed = Path(fixed_file).expanduser()
    with _audited(
        lake,
        "quarantine.replace",
        dataset,
        branch,
        quarantine_id=quarantine_id,
        reason=reason,
        policy=policy,
        file=str(fixed),
    ) as audit:
        if not fixed.is_file():
            raise UsageError(f"replacement {fixed} is not a regular file")
        _, qid, row = _open_item(lake, dataset, quarantine_id, branch, reason)
        audit["quarantine_id"] = qid
        result = _readmit(
            lake, dataset, qid, row, fixed.resolve(), branch, reason, policy, "replace"
        )
        audit.update(_outcome(result))
    return result


def drop(
    lake: Lakehouse, dataset: str, quarantine_id: str, branch: str, reason: str
) -> Remediation:
    """Close the item on `branch` without re-admitting anything (its bytes stay stored)."""
    with _audited(
        lake, "quarantine.drop", dataset, branch, quarantine_id=quarantine_id, reason=reason
    ) as audit:
        _, qid, _ = _open_item(lake, dataset, quarantine_id, branch, reason)
        audit["quarantine_id"] = qid
        version = set_status(
            lake.catalog, lake.control, dataset, branch, qid, "drop", lake.actor, reason
        )
        result = Remediation(
            dataset, qid, "drop", branch, DROPPED, reason, lake.actor, version.version_id
        )
        audit.update(_outcome(result))
    return result


def set_status(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    branch: str,
    quarantine_id: str,
    action: str,
    actor: str,
    reason: str,
    resolution: Mapping[str, Any] | None = None,
) -> Version:
    """Rewrite one open quarantine row with its new status as one version on `branch`.

    The row is rewritten on a private work branch forked from the branch head and published
    without rebase: a status change is not an append, so if the branch moved meanwhile the
    whole change is redone on the new head (and refused if the item is no longer open).
    """
    status, resolution = ACTIONS[action], dict(resolution or {})
    identifier = f"{dataset}.{QUARANTINE}"
    for _ in range(_ATTEMPTS):
        head = branch_head(control, dataset, branch)
        rows = _rows(catalog, head, equal("quarantine_id", quarantine_id), with_content=True)
        if not rows:
            raise QuarantineItemNotFound(dataset, branch, quarantine_id)
        if rows[0]["status"] != OPEN:
            raise QuarantineItemClosed(dataset, branch, quarantine_id, rows[0]["status"])
        at = datetime.now(UTC)
        changed = resolved_row(
            rows[0],
            status,
            {
                "resolved_asset_id": resolution.get("asset_id"),
                "resolved_by": actor,
                "resolved_at": at,
                "resolution_reason": reason,
            },
        )
        work = f"{WORK_PREFIX}quarantine-{uuid.uuid4().hex[:12]}"
        snapshot_properties = {
            "lakehouse.operation": f"quarantine.{action}",
            "lakehouse.quarantine_id": quarantine_id,
            "lakehouse.actor": actor,
        }
        try:
            iceberg.set_branch(catalog, identifier, work, head.snapshots[QUARANTINE])
            iceberg.with_retry(
                partial(_overwrite_row, catalog, identifier, work, changed, snapshot_properties)
            )
            return publish_work_branch(
                catalog,
                control,
                dataset,
                work,
                head,
                branch,
                operation=f"quarantine.{action}",
                message=f"quarantine {action} {quarantine_id}: {reason}",
                actor=actor,
                properties={
                    "quarantine_id": quarantine_id,
                    "action": action,
                    "branch": branch,
                    "status": status,
                    "previous_status": OPEN,
                    "reason": reason,
                    "at": at.isoformat(),
                    **resolution,
                },
                rebase=False,
            )
        except CommitConflict:
            continue
        finally:
            iceberg.remove_branch(catalog, identifier, work)
    raise CommitConflict(f"{dataset}@{branch} kept moving; quarantine {action} gave up")


# re-applying status changes -----------------------------------------------------------------------
def reapply_status_changes(
    catalog: Catalog, table: Table, work_branch: str, fork_snapshot: int, onto_snapshot: int
) -> bool:
    """Re-apply the quarantine changes of `work_branch` (forked at `fork_snapshot`) on top of
    `onto_snapshot`, by key; False (nothing done) when the branch only appended rows.

    `publish._rebase` re-applies a branch's added data files as appends. A status change is a
    copy-on-write rewrite: its added file carries every other row of the rewritten file, and
    the file it replaced must go too. So, per quarantine id: a status the branch changed is
    written over the target's row (CommitConflict when the target changed that item
    differently meanwhile), an item the branch added is appended unless the target already
    has it, and rows the branch only carried along are left as the target has them.
    """
    identifier = ".".join(table.name())
    ref = table.metadata.refs.get(work_branch)
    if ref is None:
        return False
    gained, lost = file_changes(table, ref.snapshot_id, fork_snapshot)
    if not lost:
        return False
    before = _statuses(read_columns(table, lost, ["quarantine_id", "status"]))
    after = _statuses(read_columns(table, gained, ["quarantine_id", "status"]))
    changed = {q for q, s in after.items() if q in before and s != before[q]}
    added, removed = set(after) - set(before), set(before) - set(after)
    looked_up = sorted(changed | removed | added)
    at_onto = _statuses(
        table.scan(
            snapshot_id=onto_snapshot,
            row_filter=is_in("quarantine_id", looked_up) if looked_up else AlwaysFalse(),
            selected_fields=("quarantine_id", "status"),
        ).to_arrow_batch_reader()
    )
    clashes = sorted(
        q for q in changed | removed if at_onto.get(q) not in (before[q], after.get(q))
    )
    if clashes:
        raise CommitConflict(
            f"quarantine items {', '.join(clashes)} were changed differently on both sides; "
            "nothing was changed"
        )
    writes = {q for q in changed if at_onto.get(q) == before[q]} | (added - set(at_onto))
    deletes = {q for q in removed if q in at_onto}
    schema = table.schema().as_arrow()
    wanted = pa.array(sorted(writes), pa.large_string())
    batches = [
        batch.filter(pc.is_in(batch.column("quarantine_id").cast(pa.large_string()), wanted))
        for batch in read_columns(table, gained, schema.names)
    ]
    rows = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else None
    iceberg.set_branch(catalog, identifier, work_branch, onto_snapshot)
    replaced = sorted((writes & set(at_onto)) | deletes)

    def attempt() -> None:
        fresh = catalog.load_table(identifier)
        data = rows.cast(schema) if rows is not None else schema.empty_table()
        with fresh.transaction() as tx:
            tx.overwrite(
                data,
                overwrite_filter=is_in("quarantine_id", replaced) if replaced else AlwaysFalse(),
                snapshot_properties={"lakehouse.operation": "rebase"},
                branch=work_branch,
            )

    if writes or deletes:
        iceberg.with_retry(attempt)
    return True


def _statuses(batches: Iterable[pa.RecordBatch]) -> dict[str, str]:
    return {r["quarantine_id"]: r["status"] for batch in batches for r in batch.to_pylist()}


# pure helpers ------------------------------------------------------------------------------------
def item_filter(status: str | None = None, category: str | None = None) -> BooleanExpression:
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    expression: BooleanExpression = AlwaysTrue()
    for column, value in (("status", status), ("category", category)):
        if value is not None:
            term = equal(column, value)
            expression = term if isinstance(expression, AlwaysTrue) else expression & term
    return expression


def original_name(source_uri: str, quarantine_id: str) -> str:
    """The file name an input had (from its `file://` uri); the item's id when there is none."""
    name = PurePosixPath(unquote(urlparse(source_uri).path)).name
    return name if name not in ("", ".", "..") else quarantine_id


def export_names(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A distinct file name per item: its original name, or `<stem>.<id[:12]><ext>` when
    another item (earlier in `rows`) or the manifest already has that name."""
    taken, names = {MANIFEST.casefold()}, {}
    for row in rows:
        qid = row["quarantine_id"]
        name = original_name(row["source_uri"], qid)
        if name.casefold() in taken:
            path = PurePosixPath(name)
            name = f"{path.stem}.{qid[:12]}{path.suffix}"
        taken.add(name.casefold())
        names[qid] = name
    return names


def manifest_line(row: Mapping[str, Any], file: str) -> str:
    keys = (
        "quarantine_id",
        "sha256",
        "byte_size",
        "source_uri",
        "category",
        "reasons",
        "detail",
        "status",
        "policy",
        "ingest_id",
    )
    return json.dumps({"file": file, **{k: row[k] for k in keys}}, sort_keys=True) + "\n"


def resolved_row(
    row: Mapping[str, Any], status: str, resolution: Mapping[str, Any]
) -> dict[str, Any]:
    """The row with its new status; resolution columns are kept only where the table has
    them (see RESOLUTION_COLUMNS), so this works before and after that schema change."""
    changed = {**row, "status": status}
    changed.update({k: v for k, v in resolution.items() if k in row})
    return changed


def readmission_refusal(
    quarantine_id: str, policy: Policy, name: str, verdict: Inspection | str
) -> ReleaseRefused | None:
    """Why the ingest would not add these bytes (None when it would), from the same
    inspection an ingest worker runs (`verdict`), or why the file could not be read."""
    tag = f"{policy.name}@{policy.digest}"
    if is_junk_name(name):
        return ReleaseRefused(quarantine_id, tag, ["junk_file"], f"{name} is skipped by ingest")
    if isinstance(verdict, str):
        return ReleaseRefused(quarantine_id, tag, ["unreadable"], verdict)
    if verdict.category is not None:
        return ReleaseRefused(quarantine_id, tag, list(verdict.reasons), verdict.detail)
    return None


def video_readmission_refusal(
    quarantine_id: str, policy: Policy, path: Path
) -> ReleaseRefused | None:
    """Why the ingest would not keep this video's frames (None when it would): the same
    `process_video` verdict an ingest worker reaches, frames decoded and thrown away."""
    from lakehouse.video import process_video

    verdict = process_video(path, policy.video, lambda frames: None, threads=1)
    if verdict.category is None or verdict.keep_frames:
        return None
    tag = f"{policy.name}@{policy.digest}"
    return ReleaseRefused(quarantine_id, tag, list(verdict.reasons), verdict.detail)


# plumbing ----------------------------------------------------------------------------------------
def branch_head(control: ControlPlane, dataset: str, branch: str) -> Version:
    from lakehouse.versioning import get_ref

    ref = get_ref(control, dataset, branch)
    if ref.kind != "branch":
        raise UsageError(f"{branch!r} is a tag; quarantine status changes go to a branch")
    version = control.version(ref.version_id)
    assert version is not None
    return version


def read_items(
    catalog: Catalog,
    version: Version,
    row_filter: BooleanExpression | None = None,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    rows = _rows(catalog, version, row_filter or AlwaysTrue(), with_content=False)
    if reason is not None:
        rows = [r for r in rows if reason in r["reasons"]]
    for row in rows:
        row["file_name"] = original_name(row["source_uri"], row["quarantine_id"])
    return sorted(rows, key=lambda r: (r["created_at"], r["quarantine_id"]))


def resolve_id(catalog: Catalog, version: Version, given: str, ref: str) -> str:
    """A full quarantine id from a full id or a unique prefix of at least 6 characters."""
    given = given.strip().lower()
    if len(given) < _MIN_PREFIX:
        raise QuarantineItemNotFound(
            version.dataset, ref, given, f"give at least {_MIN_PREFIX} characters of the id"
        )
    table = catalog.load_table(f"{version.dataset}.{QUARANTINE}")
    found = table.scan(
        snapshot_id=version.snapshots[QUARANTINE],
        row_filter=starts_with("quarantine_id", given),
        selected_fields=("quarantine_id",),
    ).to_arrow()
    ids = sorted(set(found.column("quarantine_id").to_pylist()))
    if not ids:
        raise QuarantineItemNotFound(version.dataset, ref, given)
    if len(ids) > 1:
        raise QuarantineItemNotFound(
            version.dataset, ref, given, f"ambiguous: {len(ids)} items start with it"
        )
    return str(ids[0])


def _rows(
    catalog: Catalog, version: Version, row_filter: BooleanExpression, with_content: bool
) -> list[dict[str, Any]]:
    table = catalog.load_table(f"{version.dataset}.{QUARANTINE}")
    names = table.schema().as_arrow().names
    columns = tuple(n for n in names if with_content or n != "content")
    scan = table.scan(
        snapshot_id=version.snapshots[QUARANTINE], row_filter=row_filter, selected_fields=columns
    )
    return scan.to_arrow().to_pylist()


def _contents(catalog: Catalog, version: Version, ids: list[str]) -> Iterator[tuple[str, bytes]]:
    """(quarantine_id, bytes) of the items, streamed batch by batch; each id once."""
    if not ids:
        return
    table = catalog.load_table(f"{version.dataset}.{QUARANTINE}")
    wanted, seen = pa.array(ids, pa.large_string()), set()
    scan = table.scan(
        snapshot_id=version.snapshots[QUARANTINE],
        row_filter=is_in("quarantine_id", ids),
        selected_fields=("quarantine_id", "content"),
    )
    for batch in scan.to_arrow_batch_reader():
        batch = batch.filter(pc.is_in(batch.column(0).cast(pa.large_string()), value_set=wanted))
        for qid, content in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if qid not in seen and content is not None:
                seen.add(qid)
                yield qid, content
    if missing := set(ids) - seen:
        raise LakehouseError(f"quarantine items {sorted(missing)} have no stored bytes")


def _contents_of(catalog: Catalog, version: Version, qid: str, sha256: str) -> bytes:
    content = next(iter(_contents(catalog, version, [qid])))[1]
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise IntegrityError(sha256, f"quarantine item {qid}", actual)
    return content


def _open_item(
    lake: Lakehouse, dataset: str, given_id: str, branch: str, reason: str
) -> tuple[Version, str, dict[str, Any]]:
    """The branch head, the full id and the row of an open item (or a clear refusal)."""
    if branch == "main":
        raise UsageError(
            "quarantine status changes happen on a branch, never on main: "
            "create one (`lakehouse branch create`), then publish it"
        )
    if not reason or not reason.strip():
        raise UsageError("a reason is required: every quarantine status change says why")
    head = branch_head(lake.control, dataset, branch)
    qid = resolve_id(lake.catalog, head, given_id, branch)
    row = _rows(lake.catalog, head, equal("quarantine_id", qid), with_content=False)[0]
    if row["status"] != OPEN:
        raise QuarantineItemClosed(dataset, branch, qid, row["status"])
    return head, qid, row


def _readmit(
    lake: Lakehouse,
    dataset: str,
    qid: str,
    row: Mapping[str, Any],
    path: Path,
    branch: str,
    reason: str,
    policy: str | None,
    action: str,
) -> Remediation:
    """Check the file in process (the ingest worker's own inspection), ingest it on the
    branch, then set the item's status; a refusal happens before anything is written."""
    chosen = lake.policy(policy)
    with path.open("rb") as f:
        video = is_video(sniff(f.read(64)), path.name)
    asset_id = None  # a video is not an asset
    if video:
        refusal = video_readmission_refusal(qid, chosen, path)
    else:
        verdict: Inspection | str
        try:
            data = read_file(str(path))
        except OSError as exc:
            verdict = f"unreadable: {exc.strerror or exc}"
        else:
            verdict = inspect_image(data, path.name, chosen.image)
            asset_id = hashlib.sha256(data).hexdigest()
        refusal = readmission_refusal(qid, chosen, path.name, verdict)
    if refusal is not None:
        raise refusal
    report = lake.ingest(
        [path],
        dataset,
        ref=branch,
        policy=policy,
        attrs={
            "lakehouse.remediation": action,
            "lakehouse.quarantine_id": qid,
            "lakehouse.original_source_uri": row["source_uri"],
        },
        message=f"quarantine {action} {qid}: {reason}",
    )
    outcome = next((o for o in ("added", "already_present") if report.counts.get(o)), None)
    if outcome is None:  # the in-process check passed but the ingest disagreed
        raise ReleaseRefused(
            qid,
            f"{chosen.name}@{chosen.digest}",
            sorted(report.reasons) or ["not_added"],
            f"ingest {report.ingest_id} recorded "
            + ", ".join(f"{o} x{n}" for o, n in report.counts.items() if n),
            landed=report.version_id,
        )
    version = set_status(
        lake.catalog,
        lake.control,
        dataset,
        branch,
        qid,
        action,
        lake.actor,
        reason,
        resolution={
            "asset_id": asset_id,
            "ledger_outcome": outcome,
            "ingest_id": report.ingest_id,
            "ingest_version_id": report.version_id,
            "policy": f"{chosen.name}@{chosen.digest}",
        },
    )
    return Remediation(
        dataset,
        qid,
        action,
        branch,
        ACTIONS[action],
        reason,
        lake.actor,
        version.version_id,
        asset_id,
        outcome,
        report.ingest_id,
        report.version_id,
        f"{chosen.name}@{chosen.digest}",
    )


def _overwrite_row(
    catalog: Catalog,
    identifier: str,
    work: str,
    row: Mapping[str, Any],
    properties: Mapping[str, str],
) -> None:
    table = catalog.load_table(identifier)
    data = pa.Table.from_pylist([dict(row)], schema=table.schema().as_arrow())
    with table.transaction() as tx:
        tx.overwrite(
            data,
            overwrite_filter=equal("quarantine_id", row["quarantine_id"]),
            snapshot_properties=dict(properties),
            branch=work,
        )


def _outcome(result: Remediation) -> dict[str, Any]:
    keep = ("status", "version_id", "asset_id", "ledger_outcome", "ingest_id", "policy")
    return {k: v for k, v in result.to_dict().items() if k in keep and v is not None}


@contextmanager
def _audited(
    lake: Lakehouse, action: str, dataset: str, target: str, **detail: Any
) -> Iterator[dict[str, Any]]:
    """Audit one operation, allowed or denied; the body may add to the detail it records."""
    record = {k: v for k, v in detail.items() if v is not None}
    try:
        yield record
    except LakehouseError as exc:
        lake.control.record(
            action, dataset, target, "denied", {**record, "error": str(exc)}, lake.actor
        )
        raise
    lake.control.record(action, dataset, target, "ok", record, lake.actor)


__all__ = [
    "QuarantineExport",
    "QuarantineItemClosed",
    "QuarantineItemNotFound",
    "ReleaseRefused",
    "Remediation",
    "drop",
    "export_quarantined",
    "history",
    "list_quarantine",
    "release",
    "replace",
    "set_status",
    "show",
]
