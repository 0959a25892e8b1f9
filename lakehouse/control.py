"""The control plane: small transactional records that do not belong in Iceberg.

Tables (SQLAlchemy Core, by default in the Iceberg SQL catalog's database):
- `lakehouse_versions`: dataset-level commits; the per-table snapshot ids that belong together.
- `lakehouse_refs`: ref heads. A ref moves only by compare-and-swap on its version id.
- `lakehouse_ingests`: ingest runs and their crash-safe checkpoints (resume after `kill -9`).
- `lakehouse_audit`: every operation, hash-chained to the previous row.
- `lakehouse_file_digests`: content digests of files already hashed, by host, path and stat
  (`lakehouse.ingest.digests`); a cache: deleting its rows only costs re-reading files.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from lakehouse.errors import CommitConflict, RefExists
from lakehouse.tables import sqlite_durability

metadata = sa.MetaData()

versions = sa.Table(
    "lakehouse_versions",
    metadata,
    sa.Column("version_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(255), nullable=False, index=True),
    sa.Column("parent_id", sa.Integer, nullable=True),
    sa.Column("snapshots", sa.Text, nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("properties", sa.Text, nullable=False),
)

refs = sa.Table(
    "lakehouse_refs",
    metadata,
    sa.Column("dataset", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=False),
    # For a branch: the version of the ref it was forked from (or last published onto).
    sa.Column("base_version_id", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

ref_log = sa.Table(
    "lakehouse_ref_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(255), nullable=False),
    sa.Column("ref", sa.String(255), nullable=False),
    sa.Column("version_id", sa.Integer, nullable=True),  # NULL: the ref was deleted
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Index("ix_ref_log_lookup", "dataset", "ref", "at"),
)

ingests = sa.Table(
    "lakehouse_ingests",
    metadata,
    sa.Column("ingest_id", sa.String(64), primary_key=True),
    sa.Column("dataset", sa.String(255), nullable=False),
    sa.Column("target_ref", sa.String(255), nullable=False),
    sa.Column("work_branch", sa.String(255), nullable=False),
    sa.Column("command_key", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("base_version_id", sa.Integer, nullable=False),
    sa.Column("checkpoint", sa.Text, nullable=False),
    sa.Column("batches", sa.Integer, nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

lineage = sa.Table(
    "lakehouse_lineage",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("parameters", sa.Text, nullable=False),
    sa.Column("code_version", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    # an input or output is a (dataset, table, snapshot) or, outside the lake, a uri
    sa.Column("input_dataset", sa.String(255), nullable=True),
    sa.Column("input_table", sa.String(64), nullable=True),
    sa.Column("input_snapshot", sa.BigInteger, nullable=True),
    sa.Column("input_uri", sa.Text, nullable=True),
    sa.Column("output_dataset", sa.String(255), nullable=True, index=True),
    sa.Column("output_table", sa.String(64), nullable=True),
    sa.Column("output_snapshot", sa.BigInteger, nullable=True),
    sa.Column("output_uri", sa.Text, nullable=True),
)

file_digests = sa.Table(
    "lakehouse_file_digests",
    metadata,
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("path", sa.Text, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mtime_ns", sa.BigInteger, nullable=False),
    sa.Column("ctime_ns", sa.BigInteger, nullable=False),
    sa.Column("inode", sa.BigInteger, nullable=False),
    sa.Column("device", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("format", sa.String(16), nullable=True),
)

audit = sa.Table(
    "lakehouse_audit",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(255), nullable=False),
    sa.Column("target", sa.String(255), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def current_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Version:
    version_id: int
    dataset: str
    parent_id: int | None
    snapshots: Mapping[str, int]
    operation: str
    actor: str
    message: str
    created_at: datetime
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """One end of a lineage edge: a table snapshot of a dataset, or a uri outside the lake."""

    dataset: str | None = None
    table: str | None = None
    snapshot_id: int | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Ref:
    dataset: str
    name: str
    kind: str  # 'branch' | 'tag'
    version_id: int
    base_version_id: int | None
    actor: str
    message: str
    created_at: datetime


@dataclass(frozen=True)
class IngestRun:
    ingest_id: str
    dataset: str
    target_ref: str
    work_branch: str
    command_key: str
    status: str
    base_version_id: int
    checkpoint: Mapping[str, int]
    batches: int
    parameters: Mapping[str, Any]


class ControlPlane:
    """Thin typed access to the control tables; every write is one short transaction."""

    def __init__(self, uri: str) -> None:
        connect_args = {"timeout": 60} if uri.startswith("sqlite") else {}
        self.engine: Engine = sa.create_engine(uri, connect_args=connect_args)
        if uri.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            # Take the write lock at BEGIN so read-then-write transactions cannot deadlock.
            sa.event.listen(
                self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
            )
        metadata.create_all(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # versions and refs -------------------------------------------------------------------
    def version(self, version_id: int) -> Version | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(versions).where(versions.c.version_id == version_id))
                .mappings()
                .first()
            )
        return _version(row) if row else None

    def ref(self, dataset: str, name: str) -> Ref | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(refs).where(refs.c.dataset == dataset, refs.c.name == name))
                .mappings()
                .first()
            )
        return _ref(row) if row else None

    def refs(self, dataset: str) -> list[Ref]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(sa.select(refs).where(refs.c.dataset == dataset).order_by(refs.c.name))
                .mappings()
                .all()
            )
        return [_ref(row) for row in rows]

    def create_ref(
        self,
        dataset: str,
        name: str,
        kind: str,
        version_id: int,
        actor: str,
        message: str,
        base_version_id: int | None = None,
    ) -> Ref:
        """Create a branch or tag; raises RefExists when the name is taken (tags never move)."""
        stamp = now()
        try:
            with self.transaction() as conn:
                conn.execute(
                    refs.insert().values(
                        dataset=dataset,
                        name=name,
                        kind=kind,
                        version_id=version_id,
                        base_version_id=base_version_id,
                        actor=actor,
                        message=message,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
                _log_ref(conn, dataset, name, version_id, actor, f"create {kind}")
        except sa.exc.IntegrityError:
            raise RefExists(dataset, name) from None
        created = self.ref(dataset, name)
        assert created is not None
        return created

    def delete_ref(self, dataset: str, name: str, actor: str) -> None:
        with self.transaction() as conn:
            conn.execute(refs.delete().where(refs.c.dataset == dataset, refs.c.name == name))
            _log_ref(conn, dataset, name, None, actor, "delete")

    def move_branch(
        self,
        dataset: str,
        name: str,
        expected_version_id: int,
        version_id: int,
        base_version_id: int | None,
        actor: str,
        operation: str,
    ) -> None:
        """Compare-and-swap a branch head to an existing version."""
        with self.transaction() as conn:
            moved = conn.execute(
                refs.update()
                .where(
                    refs.c.dataset == dataset,
                    refs.c.name == name,
                    refs.c.kind == "branch",
                    refs.c.version_id == expected_version_id,
                )
                .values(version_id=version_id, base_version_id=base_version_id, updated_at=now())
            ).rowcount
            if moved == 1:
                _log_ref(conn, dataset, name, version_id, actor, operation)
        if moved != 1:
            raise CommitConflict(f"{dataset}@{name} moved meanwhile; nothing was changed")

    def version_at(self, dataset: str, ref: str, at: datetime) -> int | None:
        """The version `ref` pointed at, at time `at` (from the ref log)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ref_log.c.version_id)
                .where(ref_log.c.dataset == dataset, ref_log.c.ref == ref, ref_log.c.at <= at)
                .order_by(ref_log.c.at.desc(), ref_log.c.seq.desc())
                .limit(1)
            ).first()
        return row.version_id if row else None

    def datasets(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(refs.c.dataset).distinct().order_by(refs.c.dataset))
            return [r.dataset for r in rows]

    def versions_with_snapshot(self, dataset: str, table: str, snapshot_id: int) -> list[Version]:
        return [v for v in reversed(self.history(dataset)) if v.snapshots.get(table) == snapshot_id]

    def ancestry(self, head: Version) -> Iterator[Version]:
        """`head`, then its parent, and so on back to the dataset's first version."""
        version: Version | None = head
        while version is not None:
            yield version
            version = self.version(version.parent_id) if version.parent_id else None

    def history(self, dataset: str, limit: int | None = None) -> list[Version]:
        query = (
            sa.select(versions)
            .where(versions.c.dataset == dataset)
            .order_by(versions.c.version_id.desc())
        )
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_version(row) for row in conn.execute(query).mappings()]

    def create_root(self, dataset: str, snapshots: Mapping[str, int], actor: str) -> Version:
        """The first version of a dataset (empty tables) and its `main` branch; idempotent."""
        with self.transaction() as conn:
            _serialize(conn, f"root:{dataset}")
            existing = conn.execute(
                sa.select(refs.c.version_id).where(refs.c.dataset == dataset, refs.c.name == "main")
            ).first()
            if existing:
                version_id = existing.version_id
            else:
                version_id = _insert_version(
                    conn, dataset, None, snapshots, "create", actor, "dataset created", {}
                )
                stamp = now()
                conn.execute(
                    refs.insert().values(
                        dataset=dataset,
                        name="main",
                        kind="branch",
                        version_id=version_id,
                        base_version_id=None,
                        actor=actor,
                        message="",
                        created_at=stamp,
                        updated_at=stamp,
                    )
                )
                _log_ref(conn, dataset, "main", version_id, actor, "create")
        version = self.version(version_id)
        assert version is not None
        return version

    def advance_ref(
        self,
        dataset: str,
        ref: str,
        expected_version_id: int,
        snapshots: Mapping[str, int],
        operation: str,
        actor: str,
        message: str,
        properties: Mapping[str, Any],
    ) -> Version:
        """Record a version and move `ref` to it, only if `ref` still points at the expected one.

        Raises CommitConflict when the ref moved meanwhile (the caller re-applies and retries).
        """
        with self.transaction() as conn:
            version_id = _insert_version(
                conn,
                dataset,
                expected_version_id,
                snapshots,
                operation,
                actor,
                message,
                properties,
            )
            moved = conn.execute(
                refs.update()
                .where(
                    refs.c.dataset == dataset,
                    refs.c.name == ref,
                    refs.c.version_id == expected_version_id,
                )
                .values(version_id=version_id, updated_at=now())
            ).rowcount
            if moved != 1:
                raise CommitConflict(f"{dataset}@{ref} moved while publishing")
            _log_ref(conn, dataset, ref, version_id, actor, operation)
        version = self.version(version_id)
        assert version is not None
        return version

    def mark_expired(self, version_ids: list[int]) -> None:
        """Record that maintenance removed (part of) these versions' snapshots."""
        if not version_ids:
            return
        stamp = now().isoformat()
        with self.transaction() as conn:
            for version_id in version_ids:
                row = conn.execute(
                    sa.select(versions.c.properties).where(versions.c.version_id == version_id)
                ).first()
                if row is None:
                    continue
                properties = {**json.loads(row.properties), "expired": stamp}
                conn.execute(
                    versions.update()
                    .where(versions.c.version_id == version_id)
                    .values(properties=json.dumps(properties, sort_keys=True))
                )

    def version_of_ingest(self, dataset: str, ingest_id: str) -> Version | None:
        """The version an ingest published, if it got that far."""
        marker = json.dumps({"ingest_id": ingest_id})[1:-1]
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(versions).where(
                        versions.c.dataset == dataset, versions.c.properties.contains(marker)
                    )
                )
                .mappings()
                .first()
            )
        return _version(row) if row else None

    # ingest runs -------------------------------------------------------------------------
    def start_ingest(self, run: IngestRun) -> None:
        stamp = now()
        with self.transaction() as conn:
            conn.execute(
                ingests.insert().values(
                    ingest_id=run.ingest_id,
                    dataset=run.dataset,
                    target_ref=run.target_ref,
                    work_branch=run.work_branch,
                    command_key=run.command_key,
                    status=run.status,
                    base_version_id=run.base_version_id,
                    checkpoint=json.dumps(run.checkpoint),
                    batches=run.batches,
                    parameters=json.dumps(run.parameters),
                    created_at=stamp,
                    updated_at=stamp,
                )
            )

    def unfinished_ingest(self, dataset: str, command_key: str) -> IngestRun | None:
        """The newest ingest of the same command that never finished (to resume it)."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    sa.select(ingests)
                    .where(
                        ingests.c.dataset == dataset,
                        ingests.c.command_key == command_key,
                        ingests.c.status == "running",
                    )
                    .order_by(ingests.c.created_at.desc())
                )
                .mappings()
                .first()
            )
        return _ingest(row) if row else None

    def running_ingests(self, dataset: str) -> list[IngestRun]:
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(ingests).where(
                        ingests.c.dataset == dataset, ingests.c.status == "running"
                    )
                )
                .mappings()
                .all()
            )
        return [_ingest(row) for row in rows]

    def checkpoint_ingest(
        self, ingest_id: str, checkpoint: Mapping[str, int], batches: int
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                ingests.update()
                .where(ingests.c.ingest_id == ingest_id)
                .values(checkpoint=json.dumps(dict(checkpoint)), batches=batches, updated_at=now())
            )

    def finish_ingest(self, ingest_id: str, status: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                ingests.update()
                .where(ingests.c.ingest_id == ingest_id)
                .values(status=status, updated_at=now())
            )

    # file digests ------------------------------------------------------------------------
    def file_digests(self, paths: Sequence[str]) -> dict[str, dict[str, Any]]:
        """This host's remembered digests of `paths` (those it has), keyed by path."""
        host = socket.gethostname()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(file_digests).where(
                    file_digests.c.host == host, file_digests.c.path.in_(list(paths))
                )
            ).mappings()
            return {row["path"]: dict(row) for row in rows}

    def file_digest_page(self, after: str, limit: int) -> list[dict[str, Any]]:
        """This host's remembered digests with paths after `after`, in path order."""
        host = socket.gethostname()
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(file_digests)
                .where(file_digests.c.host == host, file_digests.c.path > after)
                .order_by(file_digests.c.path)
                .limit(limit)
            ).mappings()
            return [dict(row) for row in rows]

    def forget_file_digests(self, paths: Sequence[str]) -> None:
        if not paths:
            return
        host = socket.gethostname()
        with self.transaction() as conn:
            conn.execute(
                file_digests.delete().where(
                    file_digests.c.host == host, file_digests.c.path.in_(list(paths))
                )
            )

    def remember_file_digests(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store (replace) digests of this host's files; each row has every column but host."""
        if not rows:
            return
        host = socket.gethostname()
        values = [{**row, "host": host} for row in rows]
        dialect = self.engine.dialect.name
        with self.transaction() as conn:
            if dialect in ("sqlite", "postgresql"):
                insert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(file_digests)
                replaced = {c.name: insert.excluded[c.name] for c in file_digests.c}
                conn.execute(
                    insert.on_conflict_do_update(index_elements=["host", "path"], set_=replaced),
                    values,
                )
                return
            conn.execute(
                file_digests.delete().where(
                    file_digests.c.host == host,
                    file_digests.c.path.in_([row["path"] for row in rows]),
                )
            )
            conn.execute(file_digests.insert(), values)

    # audit -------------------------------------------------------------------------------
    def record(
        self,
        action: str,
        dataset: str,
        target: str,
        outcome: str,
        detail: Mapping[str, Any],
        actor: str | None = None,
    ) -> None:
        """Append one audit row, chained to the previous row by sha256."""
        row: dict[str, Any] = {
            "at": now(),
            "actor": actor or current_actor(),
            "host": socket.gethostname(),
            "action": action,
            "dataset": dataset,
            "target": target,
            "outcome": outcome,
            "detail": json.dumps(dict(detail), sort_keys=True, default=str),
        }
        with self.transaction() as conn:
            _serialize(conn, "audit")  # one chain: appends must not interleave
            last = conn.execute(
                sa.select(audit.c.hash).order_by(audit.c.seq.desc()).limit(1)
            ).first()
            prev_hash = last.hash if last else "0" * 64
            digest = hashlib.sha256(
                json.dumps(
                    {**row, "at": row["at"].isoformat(), "prev": prev_hash}, sort_keys=True
                ).encode()
            ).hexdigest()
            conn.execute(audit.insert().values(**row, prev_hash=prev_hash, hash=digest))

    def record_lineage(
        self,
        job: str,
        parameters: Mapping[str, Any],
        code_version: str,
        actor: str,
        edges: list[tuple[Endpoint, Endpoint]],
    ) -> None:
        """Edges from inputs to outputs of one job run, in one transaction."""
        stamp = now()
        rows = [
            {
                "at": stamp,
                "job": job,
                "code_version": code_version,
                "actor": actor,
                "parameters": json.dumps(dict(parameters), sort_keys=True, default=str),
                "input_dataset": src.dataset,
                "input_table": src.table,
                "input_snapshot": src.snapshot_id,
                "input_uri": src.uri,
                "output_dataset": dst.dataset,
                "output_table": dst.table,
                "output_snapshot": dst.snapshot_id,
                "output_uri": dst.uri,
            }
            for src, dst in edges
        ]
        if rows:
            with self.transaction() as conn:
                conn.execute(lineage.insert(), rows)

    def lineage(self, dataset: str) -> list[dict[str, Any]]:
        query = (
            sa.select(lineage)
            .where(sa.or_(lineage.c.output_dataset == dataset, lineage.c.input_dataset == dataset))
            .order_by(lineage.c.seq)
        )
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def audit_log(self, dataset: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(audit).order_by(audit.c.seq)
        if dataset:
            query = query.where(audit.c.dataset == dataset)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def _serialize(conn: Connection, key: str) -> None:
    """Serialise read-then-write transactions on `key`. SQLite already does (BEGIN
    IMMEDIATE takes the write lock); PostgreSQL takes a transaction-scoped advisory lock."""
    if conn.dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


def _log_ref(
    conn: Connection, dataset: str, ref: str, version_id: int | None, actor: str, operation: str
) -> None:
    conn.execute(
        ref_log.insert().values(
            dataset=dataset,
            ref=ref,
            version_id=version_id,
            at=now(),
            actor=actor,
            operation=operation,
        )
    )


def _insert_version(
    conn: Connection,
    dataset: str,
    parent_id: int | None,
    snapshots: Mapping[str, int],
    operation: str,
    actor: str,
    message: str,
    properties: Mapping[str, Any],
) -> int:
    result = conn.execute(
        versions.insert().values(
            dataset=dataset,
            parent_id=parent_id,
            snapshots=json.dumps(dict(snapshots)),
            operation=operation,
            actor=actor,
            message=message,
            created_at=now(),
            properties=json.dumps(dict(properties), sort_keys=True, default=str),
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def _version(row: Mapping[Any, Any]) -> Version:
    created = row["created_at"]
    if created.tzinfo is None:  # SQLite drops the zone; every stamp we write is UTC
        created = created.replace(tzinfo=UTC)
    return Version(
        version_id=row["version_id"],
        dataset=row["dataset"],
        parent_id=row["parent_id"],
        snapshots={k: int(v) for k, v in json.loads(row["snapshots"]).items()},
        operation=row["operation"],
        actor=row["actor"],
        message=row["message"],
        created_at=created,
        properties=json.loads(row["properties"]),
    )


def _ref(row: Mapping[Any, Any]) -> Ref:
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return Ref(
        dataset=row["dataset"],
        name=row["name"],
        kind=row["kind"],
        version_id=row["version_id"],
        base_version_id=row["base_version_id"],
        actor=row["actor"],
        message=row["message"],
        created_at=created,
    )


def _ingest(row: Mapping[Any, Any]) -> IngestRun:
    return IngestRun(
        ingest_id=row["ingest_id"],
        dataset=row["dataset"],
        target_ref=row["target_ref"],
        work_branch=row["work_branch"],
        command_key=row["command_key"],
        status=row["status"],
        base_version_id=row["base_version_id"],
        checkpoint={k: int(v) for k, v in json.loads(row["checkpoint"]).items()},
        batches=row["batches"],
        parameters=json.loads(row["parameters"]),
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level so SQLAlchemy's "begin" event issues BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    sqlite_durability(dbapi_connection, _record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()
