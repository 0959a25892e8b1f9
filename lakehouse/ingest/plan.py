"""Ingest planning: decide each file's outcome from its bytes' hash before any decoding.

The driver reads and hashes files (cheap: sha256 runs at GB/s) and sorts them into outcomes;
only the first copy of image bytes never seen before goes to a worker to be decoded, and it
goes as the bytes the driver read and hashed (`inspect_task.ImageBatch`), so what is judged
and stored is exactly what was hashed. A file unchanged since it was last hashed (same stat
stamp, `lakehouse.ingest.digests`) is not even read again, unless a worker must see it (the
digest is known from another dataset), so a re-ingest of an unchanged tree costs a `stat`
per file, and never a decode. Videos are hashed as a stream (never read
whole) and each new one gets a window of its own: its frames are committed in batches while
it is being decoded.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lakehouse.ingest.digests import DigestCache, KnownDigest, rememberable
from lakehouse.ingest.inspect_task import ImageBatch
from lakehouse.ingest.known import DigestSet
from lakehouse.ingest.walk import FileEntry, FileStamp, open_regular, read_to_end
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.media import (
    IMAGE_FORMATS,
    MEDIA_EXTENSIONS,
    is_junk_name,
    is_video,
    sniff,
)

ADDED, DUPLICATE, ALREADY_PRESENT = "added", "duplicate", "already_present"
QUARANTINED, SKIPPED = "quarantined", "skipped"
OUTCOMES = (ADDED, DUPLICATE, ALREADY_PRESENT, QUARANTINED, SKIPPED)

WINDOW_MAX_FILES = 4096
# starts inspecting a window's images (their bytes, and their decisions' positions in it)
Submit = Callable[["Window", ImageBatch, list[int]], None]
_HASH_THREADS = 4
_HASH_CHUNK = 1 << 20
_WHOLE_READ_MAX = 16 << 20  # smaller files are read in one call; larger ones in chunks
_PROBE_FILES = 256  # files probed (and looked up in the digest cache) together, at most
_PROBE_BYTES = 64 << 20  # and at most this many bytes of them, read and held at once
_thread_buffers = threading.local()


class Action(Enum):
    RECORD = "record"  # outcome known now
    INSPECT = "inspect"  # first copy of new image bytes: a worker decodes it
    EXTRACT = "extract"  # first copy of a new video: a worker decodes it and streams its frames
    FOLLOW = "follow"  # identical to a file being inspected: outcome follows that file's


@dataclass
class Decision:
    entry: FileEntry
    action: Action
    sha256: str | None = None
    outcome: str | None = None
    asset_id: str | None = None
    quarantine_id: str | None = None
    detail: str | None = None


@dataclass
class Window:
    """A crash-safe unit: its rows are committed together, then checkpointed."""

    decisions: list[Decision] = field(default_factory=list)
    inspect_bytes: int = 0
    video_task: Any = None  # a video's window holds that one decision and its extraction
    _pending: list[tuple[int, bytes, str]] = field(default_factory=list)

    def add(
        self, decision: Decision, data: bytes | None, submit: Submit, files_per_task: int
    ) -> None:
        """Record a decision (`data`: the file's bytes, for an inspection); inspections go
        to workers as soon as a task's worth is ready, so workers decode while the driver is
        still hashing the rest of the window."""
        self.decisions.append(decision)
        if decision.action is Action.INSPECT:
            assert data is not None, "an image to inspect comes with its bytes"
            self.inspect_bytes += len(data)
            name = os.path.basename(decision.entry.rel_path)
            self._pending.append((len(self.decisions) - 1, data, name))
            if len(self._pending) >= files_per_task:
                self.flush(submit)

    def flush(self, submit: Submit) -> None:
        if self._pending:
            batch = ImageBatch.of([(data, name) for _, data, name in self._pending])
            indices = [index for index, _, _ in self._pending]
            self._pending = []
            submit(self, batch, indices)


@dataclass
class RunState:
    """What the run knows about ids: stored before it, and seen by it so far."""

    policy_digest: str
    stored_assets: DigestSet
    open_quarantine: set[str]  # content sha256 of open quarantine rows under this policy
    run_added: set[str] = field(default_factory=set)
    run_quarantined: set[str] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    stored_videos: set[str] = field(default_factory=set)
    run_videos: set[str] = field(default_factory=set)
    files_hashed: int = 0  # files this run read and hashed (the rest were known by stamp)


def plan_windows(
    entries: Iterable[FileEntry],
    state: RunState,
    window_bytes: int,
    workers: IngestWorkers,
    digests: DigestCache,
    submit: Submit,
) -> Iterator[Window]:
    """Group entries into windows of at most `window_bytes` of new image bytes, deciding each
    and submitting the inspections as they accumulate; a new video is a window of its own."""
    window = Window()
    with ThreadPoolExecutor(_HASH_THREADS) as pool:
        for chunk in _chunks(entries, workers.files_per_task, _PROBE_FILES, _PROBE_BYTES):
            for entry, probe in zip(chunk, _probes(chunk, pool, state, digests), strict=True):
                decision = _decide(entry, probe, state)
                if decision.action is Action.INSPECT and probe.data is None:
                    # known by its stamp but never stored: its worker needs the bytes after all
                    state.in_flight.discard(decision.sha256 or "")
                    probe = _probe(entry)
                    state.files_hashed += probe.sha256 is not None
                    decision = _decide(entry, probe, state)
                if decision.action is Action.EXTRACT:
                    if window.decisions:
                        window.flush(submit)
                        yield window
                        window = Window()
                    yield Window([decision], video_task=workers.extract(entry.path))
                    continue
                window.add(decision, probe.data, submit, workers.files_per_task)
                if (
                    window.inspect_bytes >= window_bytes
                    or len(window.decisions) >= WINDOW_MAX_FILES
                ):
                    window.flush(submit)
                    yield window
                    window = Window()
    digests.save()
    if window.decisions:
        window.flush(submit)
        yield window


@dataclass(frozen=True)
class _Probe:
    sha256: str | None = None
    fmt: str | None = None
    error: str | None = None
    video: bool = False
    stamp: FileStamp | None = None  # stat of the open file once read (hashed probes only)
    read_at_ns: int = 0
    data: bytes | None = None  # the bytes hashed, unless a video (hashed probes only)


def _probes(
    chunk: list[FileEntry], pool: ThreadPoolExecutor, state: RunState, digests: DigestCache
) -> list[_Probe]:
    """Probe a chunk: remembered digests for unchanged files, a read and a hash for the rest."""
    known = digests.lookup(chunk)
    unknown = [entry for entry in chunk if entry.path not in known]
    hashed = dict(zip((e.path for e in unknown), pool.map(_probe, unknown), strict=True))
    fresh = []
    for entry in unknown:
        probe = hashed[entry.path]
        if probe.sha256 is not None and probe.stamp is not None:
            state.files_hashed += 1
            if rememberable(entry.stamp, probe.stamp, probe.read_at_ns):
                fresh.append((entry.path, probe.stamp, KnownDigest(probe.sha256, probe.fmt)))
    digests.remember(fresh)
    return [hashed[e.path] if e.path in hashed else _known_probe(e, known[e.path]) for e in chunk]


def _known_probe(entry: FileEntry, known: KnownDigest) -> _Probe:
    name = os.path.basename(entry.rel_path)
    return _Probe(known.sha256, known.fmt, video=is_video(known.fmt, name))


def _probe(entry: FileEntry) -> _Probe:
    name = os.path.basename(entry.rel_path)
    if entry.problem or is_junk_name(name):
        return _Probe()
    try:
        with open_regular(entry.path) as fd:
            if (entry.size or 0) < _WHOLE_READ_MAX:
                whole = read_to_end(fd, entry.size or 0)
                fmt = sniff(whole[:64])
                video = is_video(fmt, name)
                digest = hashlib.sha256(whole).hexdigest()
                data: bytes | None = whole
            else:
                data, fmt, video, digest = _read_large(fd, name)
            after = FileStamp.of(os.fstat(fd))
            read_at_ns = time.time_ns()
    except OSError as exc:
        return _Probe(error=f"unreadable: {exc.strerror or exc}")
    return _Probe(
        digest, fmt, video=video, stamp=after, read_at_ns=read_at_ns, data=None if video else data
    )


def _read_large(fd: int, name: str) -> tuple[bytes | None, str | None, bool, str]:
    """Hash a large file chunk by chunk: a video is never held whole, anything else is."""
    buffer = getattr(_thread_buffers, "buffer", None)
    if buffer is None:  # reused: a video may be gigabytes
        buffer = _thread_buffers.buffer = memoryview(bytearray(_HASH_CHUNK))
    size = os.readv(fd, [buffer])
    fmt = sniff(bytes(buffer[: min(size, 64)]))
    video = is_video(fmt, name)
    digest = hashlib.sha256(buffer[:size])
    kept = None if video else [bytes(buffer[:size])]
    while size:
        size = os.readv(fd, [buffer])
        digest.update(buffer[:size])
        if kept is not None:
            kept.append(bytes(buffer[:size]))
    return (None if kept is None else b"".join(kept)), fmt, video, digest.hexdigest()


def _decide(entry: FileEntry, probe: _Probe, state: RunState) -> Decision:
    name = os.path.basename(entry.rel_path)
    if entry.problem:
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail=entry.problem)
    if is_junk_name(name):
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail="junk_file")
    if probe.error:
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail=probe.error)
    has_media_suffix = os.path.splitext(name)[1].lower() in MEDIA_EXTENSIONS
    if probe.fmt not in IMAGE_FORMATS and not has_media_suffix and not probe.video:
        return Decision(
            entry, Action.RECORD, sha256=probe.sha256, outcome=SKIPPED, detail="not_media"
        )
    sha = probe.sha256
    assert sha is not None
    known = None
    if sha in state.run_added or sha in state.run_videos:
        known = DUPLICATE
    elif sha in state.stored_assets or sha in state.stored_videos:
        known = ALREADY_PRESENT
    if known is not None:  # a video is not an asset (its frames are): its id goes in detail
        if probe.video:
            return Decision(entry, Action.RECORD, sha, outcome=known, detail=video_detail(sha))
        return Decision(entry, Action.RECORD, sha, outcome=known, asset_id=sha)
    if sha in state.run_quarantined or sha in state.open_quarantine:
        return Decision(
            entry,
            Action.RECORD,
            sha,
            outcome=QUARANTINED,
            quarantine_id=quarantine_id(sha, state.policy_digest),
            detail="same bytes as an open quarantine entry",
        )
    if sha in state.in_flight:
        return Decision(entry, Action.FOLLOW, sha)
    state.in_flight.add(sha)
    return Decision(entry, Action.EXTRACT if probe.video else Action.INSPECT, sha)


def video_detail(video_id: str) -> str:
    """How a video's ledger row names it (`videos.video_id`)."""
    return f"video_id={video_id}"


def quarantine_id(content_sha256: str, policy_digest: str) -> str:
    """One quarantine entry per (bytes, policy): the same bad file seen twice is one item."""
    return hashlib.sha256(f"{content_sha256}:{policy_digest}".encode()).hexdigest()[:32]


def _chunks(
    items: Iterable[FileEntry], first: int, files: int, size: int
) -> Iterator[list[FileEntry]]:
    """Runs of `first` entries, then twice as many each time up to `files` (the first
    inspection goes out early: workers idle until it does), each closed early once it holds
    `size` bytes."""
    chunk: list[FileEntry] = []
    chunk_bytes, limit = 0, min(first, files)
    for item in items:
        chunk.append(item)
        chunk_bytes += item.size or 0
        if len(chunk) == limit or chunk_bytes >= size:
            yield chunk
            chunk, chunk_bytes, limit = [], 0, min(limit * 2, files)
    if chunk:
        yield chunk
