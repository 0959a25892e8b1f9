"""The error hierarchy: every error lakehouse raises on purpose derives from LakehouseError.

The CLI prints a LakehouseError as one line and exits non-zero; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class LakehouseError(Exception):
    """Root of every error lakehouse raises on purpose."""

    exit_code = 1


class ConfigError(LakehouseError, ValueError):
    """A configuration file, environment variable or policy file is invalid."""

    exit_code = 2


class UsageError(LakehouseError, ValueError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2


class DatasetNotFound(LakehouseError, LookupError):
    def __init__(self, dataset: str) -> None:
        super().__init__(f"dataset {dataset!r} does not exist (ingest into it first)")
        self.dataset = dataset


class RefNotFound(LakehouseError, LookupError):
    def __init__(self, dataset: str, ref: str) -> None:
        super().__init__(f"dataset {dataset!r} has no branch or tag {ref!r}")
        self.dataset, self.ref = dataset, ref


class RefExists(LakehouseError, ValueError):
    def __init__(self, dataset: str, ref: str) -> None:
        super().__init__(
            f"dataset {dataset!r} already has a branch or tag {ref!r} (tags are immutable)"
        )
        self.dataset, self.ref = dataset, ref


class SnapshotNotFound(LakehouseError, LookupError):
    def __init__(self, dataset: str, snapshot_id: int, hint: str = "") -> None:
        super().__init__(
            f"snapshot {snapshot_id} of dataset {dataset!r}: "
            + (hint or "no table of the dataset has it (unknown or expired)")
        )
        self.dataset, self.snapshot_id = dataset, snapshot_id


class VersionExpired(LakehouseError, LookupError):
    def __init__(self, dataset: str, version_id: int) -> None:
        super().__init__(
            f"version {version_id} of dataset {dataset!r} was expired by maintenance "
            "(tag a version to keep it readable forever)"
        )
        self.dataset, self.version_id = dataset, version_id


class CommitConflict(LakehouseError):
    """A ref moved under us and the change could not be re-applied."""

    exit_code = 3


class GateRefused(LakehouseError):
    """Publish refused by the quality gate; `reasons` lists every failed check."""

    exit_code = 4

    def __init__(self, dataset: str, branch: str, reasons: list[str]) -> None:
        super().__init__(
            f"publish of {dataset}@{branch} refused: "
            + "; ".join(reasons)
            + " (fix them, or publish with --override MESSAGE)"
        )
        self.dataset, self.branch, self.reasons = dataset, branch, reasons


class IngestRootError(LakehouseError, FileNotFoundError):
    def __init__(self, root: str, why: str) -> None:
        super().__init__(f"cannot ingest {root!r}: {why}")
        self.root = root


class QueryError(LakehouseError, ValueError):
    """A SQL query failed to parse or run."""


class IntegrityError(LakehouseError):
    """Stored bytes do not hash to their asset_id: a data file is corrupt."""

    exit_code = 5

    def __init__(self, asset_id: str, where: str, actual: str) -> None:
        super().__init__(
            f"asset {asset_id} ({where}) is corrupt: its stored bytes hash to {actual}; "
            "it was not exported (run verify for the full list)"
        )
        self.asset_id, self.where, self.actual = asset_id, where, actual


class CorruptMedia(LakehouseError, ValueError):
    """Bytes that are not a readable image; `reason` is a stable reason code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail
