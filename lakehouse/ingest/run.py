"""Run an ingest: walk, plan, inspect on Ray, commit windows to a work branch, publish.

Crash safety: each window's rows are appended to a private work branch (assets, quarantine,
then sources) and only then checkpointed in the control plane in one SQL transaction. A
re-run of the same command finds the unfinished run, rewinds the work branch of every table
to the last checkpoint (discarding a half-written window) and carries on; files already in the
checkpointed ledger are not looked at again. Nothing is visible on the target ref until the
final publish, which is atomic.

Image bytes travel with their inspection tasks (at most `_IMAGE_BYTES_IN_FLIGHT` out at
once); accepted images stream into the window's Parquet data file as verdicts come back, so
a window's commit adds a written file's metadata.

Finished videos are held and committed together (their frames, then their `quarantine`,
`videos` and `sources` rows) once `_VIDEO_FRAME_BYTES` of frames (or `commit_bytes`, if
smaller) are held, before an image window, and at the end: a short clip costs no commit of
its own. A video too big to hold is appended as it streams and its rows follow at once; when
the verdict refuses it, the work branch of `assets` is rewound to where it started. Held rows
are never checkpointed, so a crash loses nothing that the re-run does not redo.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog

import lakehouse
from lakehouse import tables as iceberg
from lakehouse.control import ControlPlane, Endpoint, IngestRun, Version, current_actor
from lakehouse.datafiles import DataFileWriter
from lakehouse.errors import RefNotFound, UsageError
from lakehouse.filters import equal
from lakehouse.ingest import rows
from lakehouse.ingest.digests import DigestCache
from lakehouse.ingest.inspect_task import ImageBatch
from lakehouse.ingest.known import DigestSet
from lakehouse.ingest.labels_step import LabelRequest, import_labels, preflight
from lakehouse.ingest.plan import (
    ADDED,
    DUPLICATE,
    OUTCOMES,
    QUARANTINED,
    SKIPPED,
    Action,
    Decision,
    RunState,
    Window,
    plan_windows,
    quarantine_id,
    video_detail,
)
from lakehouse.ingest.video_task import FrameBatch, VideoUnreadable
from lakehouse.ingest.walk import read_file, resolve_roots, walk
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.lineage import record_version
from lakehouse.media import MEDIA_TYPES
from lakehouse.media.inspect import Inspection
from lakehouse.policy import Policy
from lakehouse.publish import publish_work_branch, sync_iceberg_ref
from lakehouse.schema import (
    ASSETS,
    QUARANTINE,
    ROW_GROUP_TARGET_BYTES,
    SOURCES,
    VIDEOS,
    row_group_rows,
)

if TYPE_CHECKING:
    from lakehouse.video import Frame, VideoResult

ProgressCallback = Callable[[int], None]
_WINDOWS_IN_FLIGHT = 2  # the next window is planned while one is committed
_IMAGE_BYTES_IN_FLIGHT = 64 << 20  # images sent to workers and not yet taken, at most
_HELD_VIDEOS = 256  # finished videos whose rows wait for one commit, at most
_VIDEO_FRAME_BYTES = 64 << 20  # frames held (or streamed) per commit, at most
QUARANTINE_COPY_MAX_BYTES = 256 << 20  # a refused video bigger than this is not copied
CHANGED_DURING_INGEST = (
    "changed_during_ingest: the file was rewritten between hashing and decoding; ingest again"
)


@dataclass(frozen=True)
class IngestRequest:
    dataset: str
    roots: tuple[str, ...]
    ref: str = "main"
    attrs: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None
    labels: LabelRequest | None = None
    rehash: bool = False  # read and hash every file, even those unchanged since last hashed


@dataclass
class IngestReport:
    ingest_id: str
    dataset: str
    ref: str
    version_id: int
    resumed: bool
    files: int
    counts: dict[str, int]
    reasons: dict[str, int]
    bytes_added: int
    decoded: int
    snapshots: dict[str, int]
    seconds: float
    labels: dict[str, Any] | None = None
    frames_stored: int = 0  # video frames added as assets
    files_hashed: int = 0  # files read and hashed; the others were unchanged since last time

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "dataset": self.dataset,
            "ref": self.ref,
            "version_id": self.version_id,
            "resumed": self.resumed,
            "files": self.files,
            "counts": self.counts,
            "quarantine_reasons": self.reasons,
            "bytes_added": self.bytes_added,
            "decoded": self.decoded,
            "files_hashed": self.files_hashed,
            "frames_stored": self.frames_stored,
            "snapshot_id": self.snapshots[ASSETS],
            "snapshots": self.snapshots,
            "labels": self.labels,
            "seconds": round(self.seconds, 3),
        }


def run_ingest(
    catalog: Catalog,
    control: ControlPlane,
    policy: Policy,
    request: IngestRequest,
    workers: IngestWorkers,
    commit_bytes: int,
    on_progress: ProgressCallback | None = None,
    on_total: Callable[[int], None] | None = None,
) -> IngestReport:
    """Ingest `request.roots` into `request.dataset` at `request.ref`; see module docstring.

    `workers` runs the image inspections and video extractions (Ray tasks in
    `lakehouse.api`).
    """
    started = time.perf_counter()
    actor = current_actor()
    roots = resolve_roots(list(request.roots))
    if request.labels is not None:
        if len(roots) != 1:
            raise UsageError(
                "--labels goes with exactly one ingest root (labels name files relative to it)"
            )
        preflight(request.labels)
    _ensure_target_branch(catalog, control, request, actor)
    policy_tag = f"{policy.name}@{policy.digest}"
    command_key = _command_key(request, roots, policy_tag)
    run = control.unfinished_ingest(request.dataset, command_key)
    resumed = run is not None
    if run is None:
        run = _start_run(control, request, roots, command_key, policy_tag, actor)
    fork = control.version(run.base_version_id)
    assert fork is not None
    published = control.version_of_ingest(request.dataset, run.ingest_id) if resumed else None
    if published is not None:  # killed after its publish: only the bookkeeping is left
        sync_iceberg_ref(catalog, control, request.dataset, request.ref, drop=(run.work_branch,))
        control.finish_ingest(run.ingest_id, "published")
        props = published.properties
        return IngestReport(
            run.ingest_id,
            request.dataset,
            request.ref,
            published.version_id,
            True,
            sum(props["counts"].values()),
            props["counts"],
            props.get("reasons", {}),
            0,
            0,
            dict(published.snapshots),
            time.perf_counter() - started,
        )
    if resumed:
        for name, snapshot_id in run.checkpoint.items():
            _rewind(catalog, f"{request.dataset}.{name}", run.work_branch, snapshot_id, fork)

    state, done_uris, counts, reasons = _load_state(catalog, request.dataset, run, policy.digest)
    if on_total is not None:
        on_total(sum(1 for _ in walk(roots)))
    if on_progress is not None and done_uris:
        on_progress(len(done_uris))
    committer = _WindowCommitter(
        catalog,
        request,
        run,
        fork,
        policy_tag,
        state,
        counts,
        reasons,
        workers,
        commit_bytes,
        rows.frame_provenance(policy.video),
    )
    inspections = _Inspections(workers, committer, _IMAGE_BYTES_IN_FLIGHT)
    windows = plan_windows(
        (e for e in walk(roots) if not done_uris or e.source_uri not in done_uris),
        state,
        commit_bytes,
        workers,
        DigestCache(control, trusted=not request.rehash),
        inspections.submit,
    )
    try:
        for window in _inspected_windows(windows, inspections, committer):
            control.checkpoint_ingest(run.ingest_id, committer.checkpoint, committer.batches)
            if on_progress is not None:
                on_progress(len(window.decisions))
    finally:
        committer.discard_unfinished()
    committer.commit_held()
    control.checkpoint_ingest(run.ingest_id, committer.checkpoint, committer.batches)
    labels_report = None
    if request.labels is not None:
        labels_report = import_labels(
            catalog,
            request.dataset,
            run.ingest_id,
            roots[0],
            request.labels,
            policy.labels,
            policy_tag,
            run.work_branch,
            committer.checkpoint,
            fork.snapshots,
        )
        control.checkpoint_ingest(run.ingest_id, committer.checkpoint, committer.batches)

    files = sum(counts.values())
    version = publish_work_branch(
        catalog,
        control,
        request.dataset,
        run.work_branch,
        fork,
        request.ref,
        operation="ingest",
        message=request.message or f"ingest {files} files from " + ", ".join(str(r) for r in roots),
        actor=actor,
        properties={
            "ingest_id": run.ingest_id,
            "counts": _all_outcomes(counts),
            "reasons": dict(reasons),
            "policy": policy_tag,
            "roots": [str(r) for r in roots],
            "labels": labels_report,
        },
    )
    control.finish_ingest(run.ingest_id, "published")
    record_version(
        control,
        "ingest",
        {"ingest_id": run.ingest_id, "policy": policy_tag},
        actor,
        [Endpoint(uri=r.as_uri()) for r in roots],
        control.version(version.parent_id) if version.parent_id else None,
        version,
    )
    report = IngestReport(
        ingest_id=run.ingest_id,
        dataset=request.dataset,
        ref=request.ref,
        version_id=version.version_id,
        resumed=resumed,
        files=files,
        counts=_all_outcomes(counts),
        reasons=dict(reasons),
        labels=labels_report,
        bytes_added=committer.bytes_added,
        decoded=committer.decoded,
        frames_stored=committer.frames_stored,
        files_hashed=state.files_hashed,
        snapshots=dict(version.snapshots),
        seconds=time.perf_counter() - started,
    )
    return report


def _inspected_windows(
    windows: Iterator[Window], inspections: _Inspections, committer: _WindowCommitter
) -> Iterator[Window]:
    """Commit windows in order while the next one is already being planned and inspected."""
    in_flight: deque[Window] = deque()
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < _WINDOWS_IN_FLIGHT:
            window = next(windows, None)
            if window is None:
                exhausted = True
                break
            in_flight.append(window)
        if not in_flight:
            return
        window = in_flight.popleft()
        inspections.take_window(window, last=exhausted and not in_flight)
        committer.commit(window)
        yield window


@dataclass(frozen=True)
class _InspectTask:
    window: Window
    handle: Any  # what `IngestWorkers.inspect` returned
    batch: ImageBatch  # the images' bytes, kept for the Parquet write
    indices: list[int]  # their decisions' positions in the window


class _Inspections:
    """Image tasks submitted and not yet taken, oldest first, and at most `limit` bytes of
    them: submitting more takes the oldest one's verdicts first. So the bytes an ingest holds
    do not grow with its commit windows, which may be large (few snapshots)."""

    def __init__(self, workers: IngestWorkers, committer: _WindowCommitter, limit: int) -> None:
        self.workers, self.committer, self.limit = workers, committer, limit
        self.queue: deque[_InspectTask] = deque()
        self.bytes = 0

    def submit(self, window: Window, batch: ImageBatch, indices: list[int]) -> None:
        while self.queue and self.bytes + batch.contents.nbytes > self.limit:
            self._take_oldest()
        self.queue.append(_InspectTask(window, self.workers.inspect(batch), batch, indices))
        self.bytes += batch.contents.nbytes

    def take_window(self, window: Window, last: bool) -> None:
        """Take the verdicts of `window`'s tasks still out (the oldest ones). For the `last`
        window, the images taken so far start on their way to disk before the final task's:
        its images alone make the run's last row group, so little is left to write once the
        workers are done."""
        while self.queue and self.queue[0].window is window:
            if last and len(self.queue) == 1:
                self.committer.flush(window)
            self._take_oldest()

    def _take_oldest(self) -> None:
        task = self.queue.popleft()
        self.bytes -= task.batch.contents.nbytes
        (verdicts,) = self.workers.collect([task.handle])
        self.committer.take(task.window, task.batch, task.indices, verdicts)


def _all_outcomes(counts: Mapping[str, int]) -> dict[str, int]:
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


def _ensure_target_branch(
    catalog: Catalog, control: ControlPlane, request: IngestRequest, actor: str
) -> None:
    if control.ref(request.dataset, "main") is None:  # first use: create tables and root
        heads = iceberg.ensure_dataset(catalog, request.dataset)
        control.create_root(request.dataset, heads, actor)
    target = control.ref(request.dataset, request.ref)
    if target is None:
        raise RefNotFound(request.dataset, request.ref)
    if target.kind != "branch":
        raise UsageError(f"{request.dataset}@{request.ref} is a tag; ingest into a branch")


def _command_key(request: IngestRequest, roots: list[Path], policy_tag: str) -> str:
    key = json.dumps(
        [
            request.dataset,
            request.ref,
            [str(r) for r in roots],
            sorted(request.attrs.items()),
            policy_tag,
            request.labels and [request.labels.label_source, request.labels.prefix],
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _start_run(
    control: ControlPlane,
    request: IngestRequest,
    roots: list[Path],
    command_key: str,
    policy_tag: str,
    actor: str,
) -> IngestRun:
    found = control.ref(request.dataset, request.ref)
    assert found is not None
    base = control.version(found.version_id)
    assert base is not None
    ingest_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:8]
    run = IngestRun(
        ingest_id=ingest_id,
        dataset=request.dataset,
        target_ref=request.ref,
        work_branch=f"lakehouse-ingest-{ingest_id}",
        command_key=command_key,
        status="running",
        base_version_id=base.version_id,
        checkpoint=dict(base.snapshots),
        batches=0,
        parameters={
            "roots": [str(r) for r in roots],
            "attrs": dict(request.attrs),
            "policy": policy_tag,
            "actor": actor,
            "tool_version": lakehouse.__version__,
        },
    )
    control.start_ingest(run)
    return run


def _rewind(
    catalog: Catalog, identifier: str, work_branch: str, snapshot_id: int, fork: Version | None
) -> None:
    """Drop whatever an interrupted run appended after its last checkpoint."""
    table = catalog.load_table(identifier)
    if work_branch not in table.metadata.refs:
        return
    name = identifier.rsplit(".", 1)[1]
    if fork is not None and fork.snapshots.get(name) == snapshot_id:
        iceberg.remove_branch(catalog, identifier, work_branch)
    else:
        iceberg.set_branch(catalog, identifier, work_branch, snapshot_id)


def _load_state(
    catalog: Catalog, dataset: str, run: IngestRun, policy_digest: str
) -> tuple[RunState, set[str], Counter[str], Counter[str]]:
    """Ids stored at the checkpoint, and what this run already recorded (when resuming)."""
    tables = iceberg.load_tables(catalog, dataset, (ASSETS, QUARANTINE, SOURCES, VIDEOS))
    checkpoint = run.checkpoint
    stored = DigestSet(
        batch.column(0)
        for batch in tables[ASSETS]
        .scan(snapshot_id=checkpoint[ASSETS], selected_fields=("asset_id",))
        .to_arrow_batch_reader()
    )
    open_quarantine: set[str] = set()
    run_quarantined: set[str] = set()
    quarantine = (
        tables[QUARANTINE]
        .scan(
            snapshot_id=checkpoint[QUARANTINE],
            selected_fields=("sha256", "status", "policy", "ingest_id", "reasons", "category"),
        )
        .to_arrow()
    )
    reasons: Counter[str] = Counter()
    for row in quarantine.to_pylist():
        if row["category"] == "label":  # label problems are not about image bytes
            continue
        if row["ingest_id"] == run.ingest_id:
            run_quarantined.add(row["sha256"])
            reasons.update(row["reasons"])
        elif row["status"] == "open" and row["policy"].endswith("@" + policy_digest):
            open_quarantine.add(row["sha256"])
    done_uris: set[str] = set()
    run_added: set[str] = set()
    counts: Counter[str] = Counter()
    if run.batches:
        ledger = (
            tables[SOURCES]
            .scan(
                snapshot_id=checkpoint[SOURCES],
                row_filter=equal("ingest_id", run.ingest_id),
                selected_fields=("source_uri", "outcome", "asset_id"),
            )
            .to_arrow()
        )
        for row in ledger.to_pylist():
            done_uris.add(row["source_uri"])
            counts[row["outcome"]] += 1
            if row["outcome"] == ADDED and row["asset_id"]:  # a video's row names no asset
                run_added.add(row["asset_id"])
    stored_videos: set[str] = set()
    run_videos: set[str] = set()
    videos = (
        tables[VIDEOS]
        .scan(snapshot_id=checkpoint[VIDEOS], selected_fields=("video_id", "ingest_id"))
        .to_arrow()
    )
    for video_id, ingest_id in zip(
        videos.column("video_id").to_pylist(), videos.column("ingest_id").to_pylist(), strict=True
    ):
        (run_videos if ingest_id == run.ingest_id else stored_videos).add(video_id)
    state = RunState(
        policy_digest,
        stored,
        open_quarantine,
        run_added,
        run_quarantined,
        stored_videos=stored_videos,
        run_videos=run_videos,
    )
    return state, done_uris, counts, reasons


@dataclass
class _HeldVideos:
    """Finished videos' kept frames and rows, waiting to be committed together."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    frame_bytes: int = 0
    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {QUARANTINE: [], VIDEOS: [], SOURCES: []}
    )
    videos: int = 0


@dataclass
class _Taking:
    """The image window whose tasks' results are being taken, before its commit."""

    window: Window
    at: datetime
    assets: DataFileWriter | None = None  # its accepted images, on their way to a data file
    quarantined: list[dict[str, Any]] = field(default_factory=list)


class _WindowCommitter:
    """Turns a window's decisions and worker results into rows and commits them."""

    def __init__(
        self,
        catalog: Catalog,
        request: IngestRequest,
        run: IngestRun,
        fork: Version,
        policy_tag: str,
        state: RunState,
        counts: Counter[str],
        reasons: Counter[str],
        workers: IngestWorkers,
        commit_bytes: int,
        frame_provenance: tuple[tuple[str, str], ...],
    ) -> None:
        self.catalog, self.request, self.run, self.fork = catalog, request, run, fork
        self.policy_tag, self.state, self.counts = policy_tag, state, counts
        self.workers = workers
        self.video_bytes = min(commit_bytes, _VIDEO_FRAME_BYTES)  # frames held in memory
        self.frame_provenance = frame_provenance
        self.frames_stored = 0
        self.checkpoint = dict(run.checkpoint)
        self.batches = run.batches
        self.reasons = reasons
        self.bytes_added = 0
        self.decoded = 0
        self.resolved: dict[str, Decision] = {}
        self.held = _HeldVideos()
        self.taking: dict[int, _Taking] = {}  # by id() of windows being taken, oldest first

    def take(
        self, window: Window, batch: ImageBatch, indices: list[int], verdicts: list[Inspection]
    ) -> None:
        """Record the verdicts of one finished inspection task; accepted images go on their
        way into the window's data file at once (an image's verdict needs no other file's)."""
        taking = self._taking(window)
        array = batch.content_array()
        accepted: list[dict[str, Any]] = []
        for position, (index, verdict) in enumerate(zip(indices, verdicts, strict=True)):
            decision = window.decisions[index]
            content = rows.ContentRef(array, position)
            size = batch.sizes[position]
            row = self._inspected(decision, verdict, content, size, taking.at)
            (accepted if decision.outcome == ADDED else taking.quarantined).append(row)
        if accepted:
            if taking.assets is None:
                table = self.catalog.load_table(f"{self.request.dataset}.{ASSETS}")
                taking.assets = DataFileWriter(table, ROW_GROUP_TARGET_BYTES)
            taking.assets.write(rows.to_table(accepted, rows.ARROW[ASSETS]))

    def flush(self, window: Window) -> None:
        """Start writing the window's taken images now, however few (a row group)."""
        taking = self.taking.get(id(window))
        if taking is not None and taking.assets is not None:
            taking.assets.flush()

    def commit(self, window: Window) -> None:
        """Commit a window whose every task was taken: its data file, quarantine and ledger."""
        if window.video_task is not None:
            self._commit_video(window)
            return
        taking = self.taking.pop(id(window), None) or _Taking(window, datetime.now(UTC))
        try:
            self.commit_held()
            assets = taking.assets.finish() if taking.assets is not None else None
        finally:
            if taking.assets is not None:
                taking.assets.discard()  # nothing once finished
        sources = []
        for decision in window.decisions:
            if decision.action is Action.FOLLOW:
                self._follow(decision)
            sources.append(rows.source_row(decision, self.run.ingest_id, taking.at))
            self.counts[decision.outcome or SKIPPED] += 1
        self.batches += 1
        properties = self._properties()
        if assets is not None:
            mean_bytes = assets.file_size_in_bytes / assets.record_count
            self.checkpoint[ASSETS] = iceberg.append_files(
                self.catalog,
                f"{self.request.dataset}.{ASSETS}",
                [assets],
                self.run.work_branch,
                properties,
                fork_from=self.fork.snapshots[ASSETS],
                table_properties=_row_group_property(mean_bytes),
            )
        self._append(QUARANTINE, taking.quarantined, properties)
        self._append(SOURCES, sources, properties)

    def discard_unfinished(self) -> None:
        """Delete the data files of windows that will not be committed (the run failed)."""
        takings, self.taking = self.taking, {}
        for taking in takings.values():
            if taking.assets is not None:
                taking.assets.discard()

    def _taking(self, window: Window) -> _Taking:
        taking = self.taking.get(id(window))
        if taking is None:
            taking = self.taking[id(window)] = _Taking(window, datetime.now(UTC))
        return taking

    def _properties(self) -> dict[str, str]:
        return {
            "lakehouse.operation": "ingest",
            "lakehouse.ingest_id": self.run.ingest_id,
            "lakehouse.batch": str(self.batches),
            "lakehouse.policy": self.policy_tag,
            "lakehouse.roots": json.dumps(self.run.parameters["roots"]),
            "lakehouse.tool_version": lakehouse.__version__,
        }

    def _commit_video(self, window: Window) -> None:
        """Take a video's frames as they stream in; keep them only if the verdict says so.

        A video's frames and rows are held with those of the videos before it and committed
        together once `video_bytes` of frames (or `_HELD_VIDEOS` videos) are held, so many
        short clips do not cost a commit each. A video too big to hold is appended as it
        streams, after what is held (its own start on the work branch), and rewound off the
        work branch if refused.
        """
        (decision,) = window.decisions
        sha = decision.sha256
        assert sha is not None
        at = datetime.now(UTC)
        uri = decision.entry.source_uri
        start: int | None = None  # assets head before this video's first provisional append
        properties = {**self._properties(), "lakehouse.video_id": sha}
        kept: set[str] = set()  # frame ids this video stores (identical frames are one asset)
        kept_bytes = repeated = 0
        unsaved: list[dict[str, Any]] = []
        unsaved_bytes = 0
        verdict: VideoResult | VideoUnreadable | None = None
        for item in self.workers.stream(window.video_task):
            if not isinstance(item, FrameBatch):
                verdict = item
                continue
            array = item.content_array()
            for position, frame in enumerate(item.frames):
                if self._known_frame(frame, kept):
                    repeated += 1
                    continue
                kept.add(frame.sha256)
                size = item.sizes[position]
                content = rows.ContentRef(array, position)
                unsaved.append(self._frame_row(frame, content, size, uri, at))
                unsaved_bytes += size
                kept_bytes += size
            if self.held.frame_bytes + unsaved_bytes >= self.video_bytes:
                if start is None:
                    self.commit_held()
                    start = self.checkpoint[ASSETS]
                self._append(ASSETS, unsaved, properties)
                unsaved, unsaved_bytes = [], 0
        assert verdict is not None, "a video stream ends with its verdict"
        self.decoded += 1
        self.state.in_flight.discard(sha)
        self.resolved[sha] = decision
        held = self.held
        if isinstance(verdict, VideoUnreadable):
            self._drop_frames_since(start)
            decision.outcome, decision.detail = SKIPPED, verdict.error
        elif verdict.video_id != sha:
            self._drop_frames_since(start)
            decision.outcome, decision.detail = SKIPPED, CHANGED_DURING_INGEST
        elif verdict.keep_frames or verdict.category is None:  # accepted
            held.frames.extend(unsaved)
            held.frame_bytes += unsaved_bytes
            self.state.run_added |= kept
            self.state.run_videos.add(sha)
            self.frames_stored += len(kept)
            self.bytes_added += kept_bytes
            held.rows[VIDEOS].append(
                rows.video_row(verdict, uri, len(kept), self.run.ingest_id, at)
            )
            detail = f"{video_detail(sha)}; {len(kept)} frames stored"
            if repeated:
                detail += f", {repeated} identical to frames or images stored before"
            if verdict.category:  # kept under the policy, but flagged: a quarantine entry too
                row = self._video_quarantine(
                    decision, verdict, verdict.category, verdict.reasons, verdict.detail, at
                )
                held.rows[QUARANTINE].append(row)
                detail += "; flagged " + ",".join(verdict.reasons)
            decision.outcome, decision.detail = ADDED, detail
        else:  # refused: its frames go
            self._drop_frames_since(start)
            assert verdict.category is not None
            held.rows[QUARANTINE].append(
                self._video_quarantine(
                    decision, verdict, verdict.category, verdict.reasons, verdict.detail, at
                )
            )
        self.counts[decision.outcome or SKIPPED] += 1
        held.rows[SOURCES].append(rows.source_row(decision, self.run.ingest_id, at))
        held.videos += 1
        full = held.frame_bytes >= self.video_bytes or held.videos >= _HELD_VIDEOS
        if start is not None or full:  # a streamed video's rows go with its frames
            self.commit_held()

    def commit_held(self) -> None:
        """Commit the held videos' frames, then their quarantine, videos and sources rows."""
        held, self.held = self.held, _HeldVideos()
        if not held.videos and not held.frames:
            return
        self.batches += 1
        properties = self._properties()
        self._append(ASSETS, held.frames, properties)
        for name in (QUARANTINE, VIDEOS, SOURCES):
            self._append(name, held.rows[name], properties)

    def _known_frame(self, frame: Frame, kept: set[str]) -> bool:
        sha = frame.sha256
        return sha in kept or sha in self.state.run_added or sha in self.state.stored_assets

    def _frame_row(
        self, frame: Frame, content: rows.ContentRef, size: int, uri: str, at: datetime
    ) -> dict[str, Any]:
        return rows.frame_row(
            frame, content, size, uri, self.run.ingest_id, at, self.request.attrs,
            self.frame_provenance,
        )  # fmt: skip

    def _drop_frames_since(self, start: int | None) -> None:
        """Rewind the work branch of assets to `start` (None: nothing was appended)."""
        if start is not None and self.checkpoint[ASSETS] != start:
            _rewind(
                self.catalog,
                f"{self.request.dataset}.{ASSETS}",
                self.run.work_branch,
                start,
                self.fork,
            )
            self.checkpoint[ASSETS] = start

    def _video_quarantine(
        self,
        decision: Decision,
        verdict: VideoResult,
        category: str,
        reasons: tuple[str, ...],
        detail: str,
        at: datetime,
    ) -> dict[str, Any]:
        content = None
        if verdict.byte_size <= QUARANTINE_COPY_MAX_BYTES:
            with contextlib.suppress(OSError):
                content = read_file(decision.entry.path)
            if content is not None and hashlib.sha256(content).hexdigest() != verdict.video_id:
                content = None  # changed since: keep no bytes that are not the ones judged
        media_type = MEDIA_TYPES.get(verdict.container or "")
        row = self._quarantine(
            decision, verdict.video_id, content, verdict.byte_size, media_type, at,
            category, reasons, detail,
        )  # fmt: skip
        decision.detail = f"{video_detail(verdict.video_id)}; {decision.detail}"
        return row

    def _inspected(
        self,
        decision: Decision,
        inspection: Inspection,
        content: rows.ContentRef,
        size: int,
        at: datetime,
    ) -> dict[str, Any]:
        """Record a worker's verdict on an image; its `assets` or `quarantine` row."""
        sha = decision.sha256
        assert sha is not None
        self.decoded += 1
        self.state.in_flight.discard(sha)
        self.resolved[sha] = decision
        if inspection.category is None:
            decision.outcome, decision.asset_id = ADDED, sha
            self.state.run_added.add(sha)
            self.bytes_added += size
            return rows.asset_row(
                decision, inspection, content, size, self.run.ingest_id, at, self.request.attrs
            )
        return self._quarantine(
            decision, sha, content.to_bytes(), size, inspection.media_type, at,
            inspection.category, inspection.reasons, inspection.detail,
        )  # fmt: skip

    def _quarantine(
        self,
        decision: Decision,
        sha: str,
        content: bytes | None,
        byte_size: int,
        media_type: str | None,
        at: datetime,
        category: str,
        reasons: tuple[str, ...],
        detail: str,
    ) -> dict[str, Any]:
        """Record a quarantine verdict on the decision and the run; return its row."""
        qid = quarantine_id(sha, self.state.policy_digest)
        decision.outcome, decision.quarantine_id = QUARANTINED, qid
        decision.detail = ",".join(reasons)
        self.state.run_quarantined.add(sha)
        self.reasons.update(reasons)
        return rows.quarantine_row(
            decision, sha, content, byte_size, media_type, qid, category, reasons, detail,
            self.run.ingest_id, self.policy_tag, at,
        )  # fmt: skip

    def _follow(self, decision: Decision) -> None:
        first = self.resolved[decision.sha256 or ""]
        if first.outcome == ADDED:
            decision.outcome, decision.asset_id = DUPLICATE, first.asset_id
        elif first.outcome == QUARANTINED:
            decision.outcome, decision.quarantine_id = QUARANTINED, first.quarantine_id
            decision.detail = "same bytes as " + first.entry.source_uri
        else:
            decision.outcome = SKIPPED
            decision.detail = f"identical to unreadable {first.entry.source_uri}; ingest again"

    def _append(
        self, name: str, table_rows: list[dict[str, Any]], properties: Mapping[str, str]
    ) -> None:
        """Append rows to the work branch of table `name` (nothing when there are none)."""
        if not table_rows:
            return
        data = rows.to_table(table_rows, rows.ARROW[name])
        self.checkpoint[name] = iceberg.append(
            self.catalog,
            f"{self.request.dataset}.{name}",
            data,
            self.run.work_branch,
            properties,
            fork_from=self.fork.snapshots[name],
            table_properties=_row_group_properties(name, data),
        )


def _row_group_properties(name: str, data: pa.Table) -> dict[str, str]:
    """Row groups sized in rows from this batch's mean image size (see lakehouse.schema)."""
    if name not in (ASSETS, QUARANTINE) or not data.num_rows:
        return {}
    mean = (pc.sum(pc.binary_length(data.column("content"))).as_py() or 0) / data.num_rows
    return _row_group_property(mean)


def _row_group_property(mean_asset_bytes: float) -> dict[str, str]:
    return {"write.parquet.row-group-limit": str(row_group_rows(mean_asset_bytes))}
