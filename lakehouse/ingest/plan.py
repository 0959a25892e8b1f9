"""Ingest planning: decide each file's outcome from its bytes' hash before any decoding.

The driver hashes files (cheap: sha256 runs at GB/s) and sorts them into outcomes; only the
first copy of bytes never seen before goes to a worker to be decoded. This is why a re-ingest
costs a read and a hash per file, never a decode.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lakehouse.ingest.known import DigestSet
from lakehouse.ingest.walk import FileEntry, read_file
from lakehouse.media import IMAGE_FORMATS, MEDIA_EXTENSIONS, VIDEO_FORMATS, is_junk_name, sniff

ADDED, DUPLICATE, ALREADY_PRESENT = "added", "duplicate", "already_present"
QUARANTINED, SKIPPED = "quarantined", "skipped"
OUTCOMES = (ADDED, DUPLICATE, ALREADY_PRESENT, QUARANTINED, SKIPPED)

WINDOW_MAX_FILES = 4096
Submit = Callable[[list[tuple[int, str]]], Any]  # starts inspecting (index, path) items
_HASH_THREADS = 4


class Action(Enum):
    RECORD = "record"  # outcome known now
    INSPECT = "inspect"  # first copy of new bytes: a worker decodes it
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
    tasks: list[Any] = field(default_factory=list)  # handles of the submitted inspections
    _pending: list[tuple[int, str]] = field(default_factory=list)

    def add(self, decision: Decision, submit: Submit, files_per_task: int) -> None:
        """Record a decision; inspections go to workers as soon as a task's worth is ready,
        so workers decode while the driver is still hashing the rest of the window."""
        self.decisions.append(decision)
        if decision.action is Action.INSPECT:
            self.inspect_bytes += decision.entry.size or 0
            self._pending.append((len(self.decisions) - 1, decision.entry.path))
            if len(self._pending) >= files_per_task:
                self.flush(submit)

    def flush(self, submit: Submit) -> None:
        if self._pending:
            self.tasks.append(submit(self._pending))
            self._pending = []


@dataclass
class RunState:
    """What the run knows about ids: stored before it, and seen by it so far."""

    policy_digest: str
    stored_assets: DigestSet
    open_quarantine: set[str]  # content sha256 of open quarantine rows under this policy
    run_added: set[str] = field(default_factory=set)
    run_quarantined: set[str] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)


def plan_windows(
    entries: Iterable[FileEntry],
    state: RunState,
    window_bytes: int,
    submit: Submit,
    files_per_task: int,
) -> Iterator[Window]:
    """Group entries into windows of at most `window_bytes` of new bytes, deciding each and
    submitting the inspections as they accumulate."""
    window = Window()
    with ThreadPoolExecutor(_HASH_THREADS) as pool:
        for chunk in _chunks(entries, 64):
            for entry, probe in zip(chunk, pool.map(_probe, chunk), strict=True):
                window.add(_decide(entry, probe, state), submit, files_per_task)
                if (
                    window.inspect_bytes >= window_bytes
                    or len(window.decisions) >= WINDOW_MAX_FILES
                ):
                    window.flush(submit)
                    yield window
                    window = Window()
    if window.decisions:
        window.flush(submit)
        yield window


@dataclass(frozen=True)
class _Probe:
    sha256: str | None = None
    fmt: str | None = None
    error: str | None = None


def _probe(entry: FileEntry) -> _Probe:
    if entry.problem or is_junk_name(os.path.basename(entry.rel_path)):
        return _Probe()
    try:
        data = read_file(entry.path)
    except OSError as exc:
        return _Probe(error=f"unreadable: {exc.strerror or exc}")
    return _Probe(hashlib.sha256(data).hexdigest(), sniff(data[:64]))


def _decide(entry: FileEntry, probe: _Probe, state: RunState) -> Decision:
    name = os.path.basename(entry.rel_path)
    if entry.problem:
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail=entry.problem)
    if is_junk_name(name):
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail="junk_file")
    if probe.error:
        return Decision(entry, Action.RECORD, outcome=SKIPPED, detail=probe.error)
    if probe.fmt in VIDEO_FORMATS:
        return Decision(
            entry,
            Action.RECORD,
            sha256=probe.sha256,
            outcome=SKIPPED,
            detail=f"video_not_supported: {probe.fmt}",
        )
    has_media_suffix = os.path.splitext(name)[1].lower() in MEDIA_EXTENSIONS
    if probe.fmt not in IMAGE_FORMATS and not has_media_suffix:
        return Decision(
            entry, Action.RECORD, sha256=probe.sha256, outcome=SKIPPED, detail="not_media"
        )
    sha = probe.sha256
    assert sha is not None
    if sha in state.run_added:
        return Decision(entry, Action.RECORD, sha, outcome=DUPLICATE, asset_id=sha)
    if sha in state.stored_assets:
        return Decision(entry, Action.RECORD, sha, outcome=ALREADY_PRESENT, asset_id=sha)
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
    return Decision(entry, Action.INSPECT, sha)


def quarantine_id(content_sha256: str, policy_digest: str) -> str:
    """One quarantine entry per (bytes, policy): the same bad file seen twice is one item."""
    return hashlib.sha256(f"{content_sha256}:{policy_digest}".encode()).hexdigest()[:32]


def _chunks(items: Iterable[FileEntry], size: int) -> Iterator[list[FileEntry]]:
    chunk: list[FileEntry] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
