"""Remember each file's content digest by its stat identity, so unchanged files are not re-read.

Like git's index or restic's files cache: a file whose path, size, mtime, ctime, inode and
device are all what they were when its bytes were hashed holds the same bytes. The ctime is
the guard: every write, rename, chmod or `touch` sets it to the current time, and no
unprivileged call can set it back. A re-ingest of an unchanged tree then costs a `stat` per
file instead of a read and a sha256.

Two races are closed. A file that changed while it was read has a different stamp after the
read than the walk saw: not remembered. A file whose last change is less than `RACY_NS` older
than its read could change again within the same filesystem timestamp tick (1-10 ms on Linux,
2 s on FAT) without its stamp moving: not remembered either, and hashed again next time (git's
"racily clean" entries). `lakehouse ingest --rehash` hashes every file and refreshes the cache.

Entries are keyed by host and absolute path (a shared control plane serves many machines) and
live in the control plane (`lakehouse_file_digests`); it is a cache: losing it costs re-reading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.control import ControlPlane
from lakehouse.ingest.walk import FileEntry, FileStamp

_SAVE_BATCH = 2048
_PRUNE_PAGE = 1000
RACY_NS = 2_000_000_000  # a FAT timestamp tick; ext4/xfs/btrfs/APFS ticks are far finer


@dataclass(frozen=True)
class KnownDigest:
    """What hashing a file told: its sha256 and sniffed format, true while its stamp holds."""

    sha256: str
    fmt: str | None


def rememberable(walked: FileStamp | None, after_read: FileStamp, read_at_ns: int) -> bool:
    """Whether a digest taken by a read that ended at `read_at_ns` may be reused later."""
    return walked == after_read and read_at_ns - after_read.ctime_ns >= RACY_NS


def prune(control: ControlPlane) -> int:
    """Forget this host's digests of files that are gone or changed; return how many."""
    forgotten, after = 0, ""
    while page := control.file_digest_page(after, _PRUNE_PAGE):
        stale = [row["path"] for row in page if not _still_there(row)]
        control.forget_file_digests(stale)
        forgotten += len(stale)
        after = page[-1]["path"]
    return forgotten


def _still_there(row: Mapping[str, Any]) -> bool:
    try:
        info = os.stat(row["path"], follow_symlinks=False)
    except OSError:
        return False
    return FileStamp.of(info) == _stamp(row)


def _stamp(row: Mapping[str, Any]) -> FileStamp:
    return FileStamp(row["size"], row["mtime_ns"], row["ctime_ns"], row["inode"], row["device"])


class DigestCache:
    """Remembered digests of this host's files, looked up and stored a chunk at a time."""

    def __init__(self, control: ControlPlane, *, trusted: bool = True) -> None:
        self.control = control
        self.trusted = trusted  # False (--rehash): look nothing up, still remember
        self._unsaved: list[tuple[str, FileStamp, KnownDigest]] = []

    def lookup(self, entries: list[FileEntry]) -> dict[str, KnownDigest]:
        """Digests of the entries whose walk stamp equals the remembered one, by path."""
        if not self.trusted:
            return {}
        candidates = {e.path: e.stamp for e in entries if e.stamp is not None}
        if not candidates:
            return {}
        found = {}
        for path, row in self.control.file_digests(list(candidates)).items():
            if _stamp(row) == candidates[path]:
                found[path] = KnownDigest(row["sha256"], row["format"])
        return found

    def remember(self, digests: list[tuple[str, FileStamp, KnownDigest]]) -> None:
        """Queue digests to store; they are written in batches (`save`)."""
        self._unsaved.extend(digests)
        if len(self._unsaved) >= _SAVE_BATCH:
            self.save()

    def save(self) -> None:
        """Write the queued digests (one short transaction)."""
        batch, self._unsaved = self._unsaved, []
        self.control.remember_file_digests(
            [
                {
                    "path": path,
                    "size": stamp.size,
                    "mtime_ns": stamp.mtime_ns,
                    "ctime_ns": stamp.ctime_ns,
                    "inode": stamp.inode,
                    "device": stamp.device,
                    "sha256": known.sha256,
                    "format": known.fmt,
                }
                for path, stamp, known in batch
            ]
        )
