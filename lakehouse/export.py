"""Export a dataset version as plain files: the original bytes of every asset, and manifests.

Layout: `<destination>/<asset_id[:2]>/<asset_id><ext>`, `manifest.jsonl` (one object per asset,
in data file and row order) and `MANIFEST.json` (the version exported, written last). Every
asset is checked against its asset_id before it is written, so corrupt stored bytes are refused,
never exported. Files are written under a temporary name and renamed; a file already in place
is kept when it holds the same bytes and is an error otherwise, so re-running an export is
idempotent and never overwrites. The export of a version is byte-for-byte reproducible.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO

from lakehouse.control import Version
from lakehouse.errors import IntegrityError, LakehouseError, UsageError
from lakehouse.verify import READ_ERRORS, data_files, read_batches

MANIFEST_LINES, MANIFEST_SUMMARY = "manifest.jsonl", "MANIFEST.json"
EXTENSIONS = {
    "jpeg": ".jpg",
    "png": ".png",
    "webp": ".webp",
    "bmp": ".bmp",
    "tiff": ".tif",
    "gif": ".gif",
}
_COLUMNS = ["asset_id", "content", "format", "media_type", "source_uri", "width", "height"]


@dataclass
class ExportReport:
    dataset: str
    version_id: int
    destination: str
    files: int  # assets in the export
    bytes: int  # their total size
    manifest: str  # path of manifest.jsonl
    seconds: float
    written: int = 0  # asset files written by this run (the others were already in place)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_version(
    catalog: Catalog,
    version: Version,
    destination: Path,
    on_progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write every asset of `version` and its manifests under `destination`.

    `on_progress` receives the number of assets exported since its previous call.
    """
    started = time.perf_counter()
    table, files = data_files(catalog, version)
    expected = sum(f.record_count for f in files)
    summary = summary_json(version, expected)
    if destination.exists() and not destination.is_dir():
        raise UsageError(f"cannot export into {destination}: it is not a directory")
    destination.mkdir(parents=True, exist_ok=True)
    _refuse_other_export(destination / MANIFEST_SUMMARY, summary)
    report = ExportReport(
        version.dataset,
        version.version_id,
        str(destination),
        files=0,
        bytes=0,
        manifest=str(destination / MANIFEST_LINES),
        seconds=0.0,
    )
    with _staged(destination / MANIFEST_LINES) as lines:
        for path in (f.file_path for f in files):
            for row, record in _records(table.io, path):
                content = record.pop("content")
                relative = asset_path(record["asset_id"], record["format"])
                _check_content(record["asset_id"], content, f"{path}, row {row}")
                report.written += place(destination / relative, content)
                lines.write(manifest_line(record, relative, len(content)))
                report.files, report.bytes = report.files + 1, report.bytes + len(content)
                if on_progress is not None:
                    on_progress(1)
        if report.files != expected:
            raise LakehouseError(
                f"{version.dataset} version {version.version_id}: its data files hold "
                f"{report.files} rows, their Iceberg metadata says {expected}"
            )
    place(destination / MANIFEST_SUMMARY, summary)
    report.seconds = time.perf_counter() - started
    return report


def asset_path(asset_id: str, media_format: str) -> str:
    """`<asset_id[:2]>/<asset_id><ext>`: 256 fan-out directories, names that say the format."""
    return f"{asset_id[:2]}/{asset_id}{EXTENSIONS.get(media_format, '.' + media_format)}"


def manifest_line(record: dict[str, Any], relative: str, byte_size: int) -> str:
    line = {
        "asset_id": record["asset_id"],
        "file": relative,
        "sha256": record["asset_id"],  # checked equal to the bytes written
        "byte_size": byte_size,
        "media_type": record["media_type"],
        "source_uri": record["source_uri"],
        "width": record["width"],
        "height": record["height"],
    }
    return json.dumps(line) + "\n"


def summary_json(version: Version, asset_count: int) -> bytes:
    """MANIFEST.json: which version this is. Only the version's own data, so it is reproducible
    (created_at is the version's creation time, not the export's)."""
    summary = {
        "dataset": version.dataset,
        "version_id": version.version_id,
        "fingerprint": version.properties.get("fingerprint"),
        "snapshots": dict(version.snapshots),
        "asset_count": asset_count,
        "created_at": version.created_at.isoformat(),
    }
    return (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()


def place(path: Path, data: bytes) -> bool:
    """Write `data` at `path` atomically; False when `path` already holds exactly `data`."""
    if path.exists():
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
        raise _conflict(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return True


def _check_content(asset_id: str, content: bytes, where: str) -> None:
    """Refuse bytes that do not hash to their asset_id: the stored copy is corrupt."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != asset_id:
        raise IntegrityError(asset_id, where, actual)


def _records(io: FileIO, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, row) of one data file, streamed; a read error names the file."""
    row = 0
    try:
        for batch in read_batches(io, path, _COLUMNS):
            for record in batch.to_pylist():
                yield row, record
                row += 1
    except READ_ERRORS as error:
        raise LakehouseError(f"cannot read data file {path} at row {row}: {error}") from error


def _refuse_other_export(path: Path, summary: bytes) -> None:
    """Refuse early, before writing anything, a destination holding another version's export."""
    if path.exists() and path.read_bytes() != summary:
        raise UsageError(
            f"{path.parent} holds another export ({path.name} differs); "
            "export into an empty directory or remove it first"
        )


@contextmanager
def _staged(path: Path) -> Iterator[TextIO]:
    """A text file written under a temporary name that becomes `path` on success (kept as is
    when `path` already holds the same bytes, an error when it holds others)."""
    temp = _temp_name(path)
    try:
        with temp.open("x", encoding="utf-8") as out:
            yield out
        if not path.exists():
            os.replace(temp, path)
        elif not (path.is_file() and filecmp.cmp(temp, path, shallow=False)):
            raise _conflict(path)
    finally:
        temp.unlink(missing_ok=True)


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")


def _conflict(path: Path) -> UsageError:
    return UsageError(
        f"{path} already exists with different content; export into an empty directory "
        "or remove it first"
    )
