"""Walk ingest roots safely and in a stable order.

Never follows a symlink (a link is recorded, not read), never leaves a root, never opens
anything but a regular file. Order is sorted by relative path so "which copy of identical
bytes came first" is the same on every run, whatever the parallelism.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote_from_bytes

from lakehouse.errors import IngestRootError


@dataclass(frozen=True)
class FileStamp:
    """What stat says of a file's identity and last change (see `lakehouse.ingest.digests`)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileStamp:
        return cls(info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


@dataclass(frozen=True)
class FileEntry:
    """One thing found under a root. `problem` is set when it cannot be read as a file."""

    root: str  # absolute, resolved root directory (or the file itself for a file root)
    rel_path: str  # posix path relative to root ('' parts never contain '..')
    size: int | None
    problem: str | None = None
    stamp: FileStamp | None = None  # regular files: stat at walk time

    @cached_property  # asked for several times per file
    def path(self) -> str:
        return os.path.join(self.root, self.rel_path) if self.rel_path else self.root

    @cached_property
    def source_uri(self) -> str:
        # what pathlib's as_uri gives for this absolute, normalised path, at a fifth of the cost
        return "file://" + quote_from_bytes(os.fsencode(self.path))


def resolve_roots(roots: list[str | Path]) -> list[Path]:
    """Absolute, existing roots; the user named them, so a root itself may be a symlink."""
    resolved = []
    for root in roots:
        path = Path(root).expanduser()
        if not path.exists():
            raise IngestRootError(str(root), "no such file or directory")
        path = path.resolve()
        if not (path.is_dir() or path.is_file()):
            raise IngestRootError(str(root), "not a directory or regular file")
        resolved.append(path)
    return resolved


def walk(roots: list[Path]) -> Iterator[FileEntry]:
    """Every file-like entry below the roots, in root order, then by relative posix path."""
    for root in roots:
        if root.is_file():
            info = root.stat()
            yield FileEntry(str(root.parent), root.name, info.st_size, stamp=FileStamp.of(info))
            continue
        yield from _walk_dir(str(root), "")


def _walk_dir(root: str, rel_dir: str) -> Iterator[FileEntry]:
    directory = os.path.join(root, rel_dir) if rel_dir else root
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=_path_order)
    except OSError as exc:
        yield FileEntry(root, rel_dir, None, f"unreadable_directory: {exc.strerror}")
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:  # vanished between listing and stat
            yield FileEntry(root, rel, None, f"unreadable: {exc.strerror}")
            continue
        if stat.S_ISLNK(info.st_mode):
            yield FileEntry(root, rel, None, "symlink_not_followed")
        elif stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(root, rel)
        elif stat.S_ISREG(info.st_mode):
            yield FileEntry(root, rel, info.st_size, stamp=FileStamp.of(info))
        else:
            yield FileEntry(root, rel, None, "not_a_regular_file")


def _path_order(entry: os.DirEntry[str]) -> str:
    # A directory sorts as "name/", so depth-first order equals sorting full relative paths.
    try:
        return entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name
    except OSError:
        return entry.name


@contextmanager
def open_regular(path: str) -> Iterator[int]:
    """A raw descriptor of a regular file, opened without following a symlink swapped in
    after the walk (raw: a buffered file object costs more than reading a small image)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        yield fd
    finally:
        os.close(fd)


def read_to_end(fd: int, size_hint: int) -> bytes:
    """The rest of the file: one read of the right size when `size_hint` is still true,
    and all of it when the file grew."""
    chunks = [os.read(fd, size_hint + 1)]
    while chunks[-1]:
        chunks.append(os.read(fd, max(size_hint, 1 << 16)))
    return chunks[0] if len(chunks) == 2 else b"".join(chunks)


def read_file(path: str) -> bytes:
    """The whole of a regular file (see `open_regular`)."""
    with open_regular(path) as fd:
        return read_to_end(fd, os.fstat(fd).st_size)
