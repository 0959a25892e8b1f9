"""Dataset refs: branches, immutable tags, rollback, and keeping Iceberg refs in step.

A dataset ref has the same name in every table of the dataset, so any Iceberg engine reads
`assets` and `sources` at `v3` consistently. The control plane is the truth (tags there are
unique rows that never move); Iceberg refs are written after it and repaired by `sync_refs`.
"""

from __future__ import annotations

import re
import uuid
from functools import partial

from pyiceberg.catalog import Catalog

from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Ref, Version
from lakehouse.errors import RefExists, RefNotFound, UsageError
from lakehouse.publish import FINGERPRINT_KEYS, Gate, publish_work_branch, sync_iceberg_ref
from lakehouse.resolve import check_snapshots, require_readable
from lakehouse.schema import TABLES

WORK_PREFIX = "lakehouse-"
_REF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


def validate_ref_name(name: str, kind: str) -> str:
    if not _REF_NAME.match(name) or ".." in name:
        raise UsageError(f"invalid {kind} name {name!r}: letters, digits, '.', '_', '-', '/'")
    if name.startswith(WORK_PREFIX):
        raise UsageError(f"{kind} names starting with {WORK_PREFIX!r} are reserved")
    if kind == "tag" and name == "main":
        raise UsageError("'main' is the main branch; choose another tag name")
    return name


def get_ref(control: ControlPlane, dataset: str, name: str) -> Ref:
    found = control.ref(dataset, name)
    if found is None:
        raise RefNotFound(dataset, name)
    return found


def create_branch(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    name: str,
    source: Version,
    actor: str,
    message: str = "",
) -> Ref:
    """A branch at `source` (a version of any ref; never an orphan), in every table."""
    validate_ref_name(name, "branch")
    ref = control.create_ref(
        dataset,
        name,
        "branch",
        source.version_id,
        actor,
        message,
        base_version_id=source.version_id,
    )
    for table in TABLES:
        iceberg.set_branch(catalog, f"{dataset}.{table}", name, source.snapshots[table])
    return ref


def delete_branch(
    catalog: Catalog, control: ControlPlane, dataset: str, name: str, actor: str
) -> None:
    ref = get_ref(control, dataset, name)
    if ref.kind != "branch":
        raise UsageError(f"{name!r} is a tag; use `tag delete`")
    if name == "main":
        raise UsageError("main cannot be deleted")
    control.delete_ref(dataset, name, actor)
    iceberg.drop_branch_everywhere(catalog, dataset, name)


def create_tag(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    name: str,
    target: Version,
    actor: str,
    message: str,
) -> Ref:
    """An immutable tag: re-creating an existing tag is an error (pyiceberg would re-point it)."""
    validate_ref_name(name, "tag")
    ref = control.create_ref(dataset, name, "tag", target.version_id, actor, message)
    _write_iceberg_tag(catalog, dataset, name, target)
    return ref


def delete_tag(
    catalog: Catalog, control: ControlPlane, dataset: str, name: str, actor: str, force: bool
) -> None:
    ref = get_ref(control, dataset, name)
    if ref.kind != "tag":
        raise UsageError(f"{name!r} is a branch; use `branch delete`")
    if not force:
        raise UsageError(f"tags are immutable: deleting {name!r} needs --force (it is recorded)")
    control.delete_ref(dataset, name, actor)
    for table in TABLES:
        identifier = f"{dataset}.{table}"
        loaded = catalog.load_table(identifier)
        if name in loaded.metadata.refs:
            iceberg.with_retry(partial(_remove_iceberg_tag, catalog, identifier, name))


def _write_iceberg_tag(catalog: Catalog, dataset: str, name: str, target: Version) -> None:
    for table in TABLES:
        identifier = f"{dataset}.{table}"
        existing = catalog.load_table(identifier).metadata.refs.get(name)
        if existing is not None and existing.snapshot_id == target.snapshots[table]:
            continue
        if existing is not None:
            raise RefExists(dataset, name)
        iceberg.with_retry(
            partial(_create_iceberg_tag, catalog, identifier, name, target.snapshots[table])
        )


def _remove_iceberg_tag(catalog: Catalog, identifier: str, name: str) -> None:
    catalog.load_table(identifier).manage_snapshots().remove_tag(name).commit()


def _create_iceberg_tag(catalog: Catalog, identifier: str, name: str, snapshot_id: int) -> None:
    catalog.load_table(identifier).manage_snapshots().create_tag(snapshot_id, name).commit()


def publish_branch(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    branch: str,
    target: str,
    message: str,
    actor: str,
    gate: Gate | None,
) -> Version:
    """Publish `branch` onto `target` through the gate; the branch then equals the result.

    Fast-forward when `target` has not moved since the branch forked; otherwise the branch's
    appended files are re-applied on the new head. A concurrent publish winning the race is a
    CommitConflict: the verdict was for a head that no longer is.
    """
    source = get_ref(control, dataset, branch)
    if source.kind != "branch" or branch == target:
        raise UsageError(f"publish takes a work branch other than {target!r}; got {branch!r}")
    if get_ref(control, dataset, target).kind != "branch":
        raise UsageError(f"cannot publish onto tag {target!r}")
    head = control.version(source.version_id)
    fork = control.version(source.base_version_id or source.version_id)
    assert head is not None and fork is not None
    changed = [t for t in TABLES if head.snapshots[t] != fork.snapshots[t]]
    if not changed:
        raise UsageError(f"{dataset}@{branch} has nothing to publish (no change since it forked)")
    work = f"{WORK_PREFIX}publish-{uuid.uuid4().hex[:12]}"
    for table in changed:
        iceberg.set_branch(catalog, f"{dataset}.{table}", work, head.snapshots[table])
    try:
        version = publish_work_branch(
            catalog,
            control,
            dataset,
            work,
            fork,
            target,
            operation="publish",
            message=message,
            actor=actor,
            properties={"branch": branch, "branch_version_id": head.version_id},
            gate=gate,
            retry_when_moved=False,
        )
    finally:
        iceberg.drop_branch_everywhere(catalog, dataset, work)
    control.move_branch(
        dataset,
        branch,
        head.version_id,
        version.version_id,
        base_version_id=version.version_id,
        actor=actor,
        operation="published",
    )
    sync_iceberg_ref(catalog, control, dataset, branch)
    return version


def rollback(
    catalog: Catalog,
    control: ControlPlane,
    dataset: str,
    ref: str,
    to: Version,
    actor: str,
    message: str | None = None,
) -> Version:
    """Point `ref` back at the content of `to` as a new version; history keeps everything."""
    current_ref = get_ref(control, dataset, ref)
    if current_ref.kind != "branch":
        raise UsageError(f"{ref!r} is a tag; tags never move")
    current = control.version(current_ref.version_id)
    assert current is not None
    require_readable(catalog, to)
    check_snapshots(iceberg.load_tables(catalog, dataset), to)
    properties = {k: to.properties[k] for k in FINGERPRINT_KEYS if k in to.properties}
    properties.update(restored_version_id=to.version_id, replaced_version_id=current.version_id)
    version = control.advance_ref(
        dataset,
        ref,
        current.version_id,
        to.snapshots,
        "rollback",
        actor,
        message or f"rollback to version {to.version_id}",
        properties,
    )
    sync_iceberg_ref(catalog, control, dataset, ref)
    return version


def sync_refs(catalog: Catalog, control: ControlPlane, dataset: str) -> list[str]:
    """Make every table's Iceberg refs match the control plane; return what was repaired."""
    repaired = []
    truth = {ref.name: ref for ref in control.refs(dataset)}
    tables = iceberg.load_tables(catalog, dataset)
    for name, ref in truth.items():
        version = control.version(ref.version_id)
        assert version is not None
        for table in TABLES:
            current = tables[table].metadata.refs.get(name)
            if current is not None and current.snapshot_id == version.snapshots[table]:
                continue
            repaired.append(f"{table}@{name}")
            if ref.kind == "branch":
                iceberg.set_branch(catalog, f"{dataset}.{table}", name, version.snapshots[table])
            else:
                identifier = f"{dataset}.{table}"
                manage = catalog.load_table(identifier).manage_snapshots()
                if current is not None:
                    manage = manage.remove_tag(name)
                manage.create_tag(version.snapshots[table], name).commit()
    for table in TABLES:
        for name in list(tables[table].metadata.refs):
            if name not in truth and not name.startswith(WORK_PREFIX):
                repaired.append(f"{table}@{name} (removed)")
                ref_type = tables[table].metadata.refs[name].snapshot_ref_type.value
                manage = catalog.load_table(f"{dataset}.{table}").manage_snapshots()
                (
                    manage.remove_tag(name) if ref_type == "tag" else manage.remove_branch(name)
                ).commit()
    return repaired
