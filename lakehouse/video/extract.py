"""One video file in, its verdict and its kept frames out, streaming with bounded memory.

`process_video` reads a container with PyAV in two passes over its packets:

1. scan (demux only, no decoding; a few ms): container facts, every packet's timestamp, size
   and corrupt flag. Decides before any frame is handed out whether the file is truncated
   (a corrupt packet at the tail, data promised past the end of the file, a demuxer error, or
   packets ending well before the declared duration) and whether the packet timeline breaks
   the timing policy. Header limits (pixels, duration) are checked before the scan.
2. decode: every frame is decoded (so `frames_decoded`, decode errors and the timing report
   are complete even for a refused video), the sampled ones are converted, encoded and hashed
   in a small thread pool while PyAV decodes, and handed to `on_frames` in decoded order, in
   lists of at most `batch_frames`, only when the scan found nothing that refuses the video.

Damage found only while decoding (decode errors, non-monotonic frame pts, a frame count
that differs from the declared one) can come after frames were handed out: batches are
provisional until `process_video` returns, and the caller keeps them iff
`VideoResult.keep_frames`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import av.logging
from av.video.reformatter import VideoReformatter

from lakehouse.media.formats import sniff
from lakehouse.video import timing as codes
from lakehouse.video.avlog import ErrorLog, LogLine, capture_errors
from lakehouse.video.encode import encode_frame
from lakehouse.video.policy import FrameEncoding, VideoPolicy
from lakehouse.video.sampling import Sampler
from lakehouse.video.timing import TimingReport, analyse_timestamps, cap_events

EMPTY_FILE = "empty_file"
UNREADABLE_CONTAINER = "unreadable_container"
NO_VIDEO_STREAM = "no_video_stream"
NO_DECODER = "no_decoder"
NO_FRAMES_DECODED = "no_frames_decoded"
TOO_MANY_PIXELS = "too_many_pixels"
TOO_LONG = "too_long"

# Reason codes in the order a verdict lists them: corrupt first, then policy.
CORRUPT_REASONS: tuple[str, ...] = (
    EMPTY_FILE,
    UNREADABLE_CONTAINER,
    NO_VIDEO_STREAM,
    NO_DECODER,
    codes.TRUNCATED_STREAM,
    codes.DECODE_ERROR_MID_STREAM,
    NO_FRAMES_DECODED,
)
POLICY_REASONS: tuple[str, ...] = (
    TOO_MANY_PIXELS,
    TOO_LONG,
    codes.DROPPED_FRAMES,
    codes.NON_MONOTONIC_PTS,
    codes.VARIABLE_FRAME_RATE,
    codes.FRAME_COUNT_MISMATCH,
)
_ORDER = {code: i for i, code in enumerate(CORRUPT_REASONS + POLICY_REASONS)}

_HASH_CHUNK = 1 << 20
_MAX_REORDER = 16  # frames a decoder may hold back (H.264's largest picture buffer)
_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv", "avi": "avi"}


@dataclass(frozen=True)
class Frame:
    """One kept frame, encoded: becomes an `assets` row of kind 'frame'."""

    frame_index: int  # index among all decoded frames of the video, from 0
    pts_ms: float | None  # presentation time, from the frame's own pts
    width: int
    height: int
    content: bytes  # PNG or JPEG bytes, as `VideoResult.frame_encoding` says
    sha256: str  # lowercase hex sha256 of `content`: the asset_id
    phash: int  # 64-bit DCT perceptual hash of the frame's luminance (signed)
    media_type: str  # 'image/png' | 'image/jpeg'
    video_id: str  # sha256 of the container the frame comes from


@dataclass(frozen=True)
class VideoResult:
    """The verdict on one video file and the facts of a `videos` row.

    `category` is None (accepted), 'corrupt' or 'policy'; `reasons` lists every code that
    applies, corrupt codes first (see CORRUPT_REASONS, POLICY_REASONS). `keep_frames` says
    whether the frames handed to `on_frames` are to be stored: true when frames were emitted and
    the only reason, if any, is 'truncated_stream' under `keep_truncated_frames`.
    """

    video_id: str  # sha256 of the container bytes
    container: str | None  # 'mp4' | 'avi' | 'mkv' | FFmpeg's format name
    codec: str | None
    fps: float | None  # nominal frame rate
    frame_count: int | None  # declared by the container (None when it declares none)
    duration_s: float | None  # declared
    width: int | None
    height: int | None
    byte_size: int
    frames_decoded: int
    frames_emitted: int
    timing: TimingReport | None  # None when the video was not decoded
    category: str | None
    reasons: tuple[str, ...]
    detail: str  # one line
    sampling: str
    frame_encoding: str
    keep_frames: bool
    events: tuple[str, ...] = ()  # timing events plus integrity events, capped

    @property
    def frames_stored(self) -> int:
        """Frames the caller stores: `frames_emitted` when kept, else 0."""
        return self.frames_emitted if self.keep_frames else 0


@dataclass
class _Header:
    """What the container declares about its video stream."""

    container: str | None = None
    codec: str | None = None
    fps: float | None = None
    frame_count: int | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    time_base: Fraction | None = None


@dataclass
class _Scan:
    """Facts from the demux-only pass."""

    packets: int = 0
    pts_ms: list[float] = field(default_factory=list)
    end_ms: float | None = None  # latest pts + duration of any packet
    start_ms: float | None = None
    corrupt_packets: list[int] = field(default_factory=list)
    past_eof: bool = False
    demux_error: str | None = None
    demux_messages: list[str] = field(default_factory=list)


def sha256_file(path: str) -> str:
    """Lowercase hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def process_video(
    path: str | os.PathLike[str],
    policy: VideoPolicy,
    on_frames: Callable[[list[Frame]], None],
    batch_frames: int = 32,
    *,
    threads: int | None = None,
    thread_type: str = "AUTO",
) -> VideoResult:
    """Check and extract one video file; see the module docstring for the two passes.

    `on_frames` receives lists of at most `batch_frames` kept frames, in decoded order, in the
    calling thread. `threads` encoder threads (default: the usable cores, at most 4) run beside
    the decoder; `thread_type` is PyAV's decoder threading ('AUTO' = frame and slice threads;
    'SLICE' is PyAV's default, single-threaded for the usual one-slice H.264; 'FRAME', 'NONE').
    In a Ray task, reserve as many CPUs as `threads` or pass threads=1, thread_type='NONE'.
    Never raises for bad video data; OSError from reading `path`, and whatever `on_frames`
    raises, propagate.
    """
    if batch_frames < 1:
        raise ValueError("batch_frames must be >= 1")
    path = os.fspath(path)
    byte_size = os.stat(path).st_size
    video_id = sha256_file(path)
    with open(path, "rb") as f:
        head = f.read(64)
    run = _Run(path, policy, video_id, byte_size, sniff(head))
    if byte_size == 0:
        return run.result(_Header(), (EMPTY_FILE,), ["empty file"])
    with capture_errors() as log:
        return run.execute(log, on_frames, batch_frames, threads or _usable_cores(), thread_type)


def _usable_cores() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class _Run:
    """The state of one `process_video` call."""

    def __init__(
        self, path: str, policy: VideoPolicy, video_id: str, byte_size: int, sniffed: str | None
    ) -> None:
        self.path, self.policy, self.video_id, self.byte_size = path, policy, video_id, byte_size
        self.sniffed = sniffed
        self.frames_decoded = 0
        self.frames_emitted = 0
        self.timing: TimingReport | None = None
        self.truncation = ""  # why the file looks cut short, from the scan

    def result(
        self,
        header: _Header,
        reasons: Iterable[str],
        details: list[str],
        events: Iterable[str] = (),
    ) -> VideoResult:
        ordered = tuple(sorted(set(reasons), key=_ORDER.__getitem__))
        category = (
            "corrupt"
            if any(r in CORRUPT_REASONS for r in ordered)
            else "policy"
            if ordered
            else None
        )
        keep = self.frames_emitted > 0 and all(
            r == codes.TRUNCATED_STREAM and self.policy.keep_truncated_frames for r in ordered
        )
        if not details:
            details = [_summary(header, self.frames_decoded)]
        all_events = [*(self.timing.events if self.timing else ()), *events]
        return VideoResult(
            video_id=self.video_id,
            container=header.container or self.sniffed,
            codec=header.codec,
            fps=header.fps,
            frame_count=header.frame_count,
            duration_s=header.duration_s,
            width=header.width,
            height=header.height,
            byte_size=self.byte_size,
            frames_decoded=self.frames_decoded,
            frames_emitted=self.frames_emitted,
            timing=self.timing,
            category=category,
            reasons=ordered,
            detail="; ".join(d.replace("\n", " ") for d in details),
            sampling=self.policy.sampling,
            frame_encoding=self.policy.frame_encoding,
            keep_frames=keep,
            events=cap_events(all_events),
        )

    def execute(
        self,
        log: ErrorLog,
        on_frames: Callable[[list[Frame]], None],
        batch_frames: int,
        threads: int,
        thread_type: str,
    ) -> VideoResult:
        header = _Header(container=self.sniffed)
        try:
            container = av.open(self.path, metadata_errors="ignore")
        except av.FFmpegError as e:
            return self.result(header, (UNREADABLE_CONTAINER,), [_error_detail(e, log.since(0))])
        with container:
            if not container.streams.video:
                kinds = ", ".join(sorted({str(s.type) for s in container.streams})) or "none"
                detail = f"no video stream (streams: {kinds})"
                return self.result(header, (NO_VIDEO_STREAM,), [detail])
            stream = container.streams.video[0]
            if stream.codec_context is None:  # FFmpeg has no decoder for it
                detail = f"no decoder for the video stream (codec id {stream.codec_tag or '?'})"
                return self.result(header, (NO_DECODER,), [detail])
            header = _read_header(container, stream, self.sniffed)
            refused = self._check_header(header)
            if refused:
                return self.result(header, [code for code, _ in refused], [d for _, d in refused])
            scan = _scan_packets(container, stream, header, self.byte_size, log)
        pre_reasons, details, events = self._judge_scan(header, scan)
        emit = all(
            r == codes.TRUNCATED_STREAM and self.policy.keep_truncated_frames for r in pre_reasons
        )
        decode = self._decode(
            header, scan, log, on_frames if emit else None, batch_frames, threads, thread_type
        )
        post_reasons, post_details, post_events = self._judge_decode(header, scan, decode)
        return self.result(
            header, [*pre_reasons, *post_reasons], details + post_details, events + post_events
        )

    def _check_header(self, header: _Header) -> list[tuple[str, str]]:
        """Limits checked before anything is decoded (decompression bombs, hour-long files)."""
        refused = []
        p = self.policy
        if header.width and header.height and header.width * header.height > p.max_megapixels * 1e6:
            mp = header.width * header.height / 1e6
            refused.append(
                (
                    TOO_MANY_PIXELS,
                    f"{header.width}x{header.height} is {mp:.1f} MP, over {p.max_megapixels:g} MP",
                )
            )
        if header.duration_s is not None and header.duration_s > p.max_duration_s:
            refused.append((TOO_LONG, f"{header.duration_s:.1f} s is over {p.max_duration_s:g} s"))
        return refused

    def _judge_scan(self, header: _Header, scan: _Scan) -> tuple[list[str], list[str], list[str]]:
        """Truncation and packet-timeline verdict, before any frame is handed out."""
        reasons: list[str] = []
        details: list[str] = []
        events: list[str] = []
        truncation = self.truncation = _truncation(header, scan, self.byte_size)
        if truncation:
            reasons.append(codes.TRUNCATED_STREAM)
            details.append(f"truncated_stream: {truncation}")
            events.append(f"truncated: {truncation}")
        # the packet timeline: the same presentation times the frames will carry
        packet_timing = analyse_timestamps(
            sorted(scan.pts_ms),
            header.fps,
            self.policy,
            tail_grace=_MAX_REORDER if truncation else 0,
        )
        reasons += [v for v in packet_timing.violations if v != codes.NON_MONOTONIC_PTS]
        return reasons, details, events

    def _decode(
        self,
        header: _Header,
        scan: _Scan,
        log: ErrorLog,
        on_frames: Callable[[list[Frame]], None] | None,
        batch_frames: int,
        threads: int,
        thread_type: str,
    ) -> _Decode:
        state = _Decode()
        tb = header.time_base or Fraction(1, 1000)
        sampler = Sampler(self.policy.sampler, tick_ms=float(tb) * 1000)
        encoding = self.policy.encoding
        pts_ms: list[float | None] = []
        batch: list[Frame] = []
        pending: deque[Future[Frame]] = deque()
        max_pending = 2 * threads + 2

        def collect(block_until: int) -> None:
            while len(pending) > block_until:
                batch.append(pending.popleft().result())
                if len(batch) >= batch_frames:
                    flush()

        def flush() -> None:
            nonlocal batch
            if batch and on_frames is not None:
                self.frames_emitted += len(batch)
                on_frames(batch)
            batch = []

        def take(index: int, frames: list[Any]) -> None:
            for frame in frames:
                if not isinstance(frame, av.VideoFrame):
                    continue
                pts = _ms(frame.pts, tb)
                if frame.is_corrupt:  # FFmpeg flagged the frame as damaged
                    state.errors.append((index, pts, "decoder flagged the frame corrupt"))
                    if state.last_clean == index:
                        state.last_clean = index - 1
                frame_index = len(pts_ms)
                pts_ms.append(pts)
                if on_frames is not None and sampler.keep(frame_index, pts):
                    pending.append(
                        pool.submit(_encode, frame, frame_index, pts, encoding, self.video_id)
                    )
                    collect(max_pending)

        corrupt = set(scan.corrupt_packets)
        index = -1
        with (
            av.open(self.path, metadata_errors="ignore") as container,
            ThreadPoolExecutor(threads, thread_name_prefix="frame-encode") as pool,
        ):
            stream = container.streams.video[0]
            stream.thread_type = thread_type
            codec = stream.codec_context.name
            state.log_cursor = len(log)
            drained = False
            try:
                packets = container.demux(stream)
                while True:
                    try:
                        packet = next(packets)
                    except StopIteration:
                        break
                    except av.FFmpegError as e:  # already reported by the scan
                        state.errors.append((index + 1, None, f"demux: {_short(e)}"))
                        break
                    index += 1
                    drained = packet.size == 0 and packet.pts is None  # the flush packet
                    if index in corrupt:
                        state.skipped.append(index)
                        if packet.pts is not None:
                            state.undecoded_pts.append(_ms(packet.pts, tb) or 0.0)
                        continue
                    try:
                        frames = packet.decode()
                        ok = True
                    except av.FFmpegError as e:
                        state.errors.append((index, _ms(packet.pts, tb), _short(e)))
                        if packet.pts is not None:
                            state.undecoded_pts.append(_ms(packet.pts, tb) or 0.0)
                        frames, ok = [], False
                    # decoder threads log at any time: every line is taken once, by the packet
                    # being decoded when it is seen (with frame threads, a few packets late)
                    ok = self._take_log(log, state, codec, index, _ms(packet.pts, tb)) and ok
                    if ok and not drained:
                        state.last_clean = index
                    take(index, frames)
                if not drained:  # the demuxer failed before its end-of-stream packet
                    take(index, _drain(stream))
                    drained = True
                collect(0)
                flush()
            finally:
                if not drained:
                    _drain(stream)  # see _drain: never free a decoder that is still working
        self._take_log(log, state, codec, index, None)
        self.frames_decoded = len(pts_ms)
        truncated = bool(self.truncation)
        self.timing = analyse_timestamps(
            pts_ms,
            header.fps,
            self.policy,
            undecoded_pts_ms=[] if truncated else state.undecoded_pts,
            tail_grace=_MAX_REORDER if truncated else 0,
        )
        return state

    @staticmethod
    def _take_log(log: ErrorLog, state: _Decode, codec: str, index: int, pts: float | None) -> bool:
        """Record the decoder's new error lines against packet `index`; False if there were."""
        lines = log.since(state.log_cursor)
        state.log_cursor += len(lines)
        errors = [  # demuxer lines belong to the scan
            line for line in lines if line.source == codec and line.level <= av.logging.ERROR
        ]
        state.errors += [(index, pts, line.message) for line in errors]
        return not errors

    def _judge_decode(
        self, header: _Header, scan: _Scan, decode: _Decode
    ) -> tuple[list[str], list[str], list[str]]:
        reasons: list[str] = list(self.timing.violations) if self.timing else []
        details: list[str] = []
        events = [f"decode error at packet {i}{_at(pts)}: {msg}" for i, pts, msg in decode.errors]
        truncated = bool(self.truncation)
        mid_stream = [e for e in decode.errors if not truncated or e[0] < decode.last_clean]
        if decode.skipped and not truncated:
            mid_stream.append((decode.skipped[0], None, "packet flagged corrupt by the demuxer"))
        if mid_stream:
            reasons.append(codes.DECODE_ERROR_MID_STREAM)
            i, pts, msg = mid_stream[0]
            more = f" (+{len(mid_stream) - 1} more)" if len(mid_stream) > 1 else ""
            details.append(f"decode_error_mid_stream: packet {i}{_at(pts)}: {msg}{more}")
        if self.frames_decoded == 0:
            reasons.append(NO_FRAMES_DECODED)
            details.append(f"no frame decodes out of {scan.packets} packets")
        declared = header.frame_count
        if declared and not truncated:
            # frames lost to decode errors are reported as such, not as a miscount
            present = self.frames_decoded + len(decode.undecoded_pts)
            off = abs(declared - present) / declared
            if off > self.policy.frame_count_tolerance:
                reasons.append(codes.FRAME_COUNT_MISMATCH)
                details.append(
                    f"frame_count_mismatch: {self.frames_decoded} frames decoded, "
                    f"{declared} declared"
                )
                events.append(details[-1])
        if self.timing:
            for code in self.timing.violations:
                details.append(f"{code}: {_timing_detail(code, self.timing)}")
        return reasons, details, events


@dataclass
class _Decode:
    """What the decode pass saw besides frames."""

    errors: list[tuple[int, float | None, str]] = field(default_factory=list)  # packet, pts, why
    skipped: list[int] = field(default_factory=list)  # packets flagged corrupt, not decoded
    undecoded_pts: list[float] = field(default_factory=list)  # of failed and skipped packets
    last_clean: int = -1  # last packet that decoded without any error
    log_cursor: int = 0  # FFmpeg log lines already taken


_local = threading.local()


def _encode(
    frame: av.VideoFrame, index: int, pts_ms: float | None, encoding: FrameEncoding, video_id: str
) -> Frame:
    """Worker-thread job: convert to RGB (swscale, GIL released), encode, hash.

    Each thread keeps one VideoReformatter: `frame.to_ndarray` would set up a new swscale
    context for every frame.
    """
    reformatter = getattr(_local, "reformatter", None)
    if reformatter is None:
        reformatter = _local.reformatter = VideoReformatter()
    rgb = reformatter.reformat(frame, format="rgb24").to_ndarray()
    encoded = encode_frame(rgb, encoding)
    height, width = rgb.shape[:2]
    return Frame(
        index, pts_ms, width, height, encoded.content, encoded.sha256, encoded.phash,
        encoding.media_type, video_id,
    )  # fmt: skip


def _drain(stream: av.VideoStream) -> list[Any]:
    """Flush the decoder and return the frames it still held; [] if it fails.

    PyAV frees a codec context (joining FFmpeg's decoder threads) while holding the GIL, and a
    decoder thread that logs an error waits for the GIL in PyAV's log callback: freeing a
    decoder that still has packets in flight deadlocked. A drained decoder's threads are idle.
    """
    try:
        return list(stream.decode(None))
    except av.FFmpegError:
        return []


def _read_header(
    container: av.container.InputContainer, stream: av.VideoStream, sniffed: str | None
) -> _Header:
    ctx = stream.codec_context
    rate = stream.guessed_rate or stream.average_rate
    tb = stream.time_base
    duration: float | None = None
    if stream.duration and tb:
        duration = float(stream.duration * tb)
    elif stream.metadata.get("DURATION"):
        duration = _parse_clock(stream.metadata["DURATION"])
    elif container.duration and len(container.streams) == 1:
        duration = container.duration / av.time_base
    name = container.format.name
    return _Header(
        container=sniffed or _CONTAINERS.get(name, name),
        codec=ctx.name,
        fps=float(rate) if rate else None,
        frame_count=stream.frames or None,
        duration_s=duration,
        width=ctx.width or None,
        height=ctx.height or None,
        time_base=tb,
    )


def _scan_packets(
    container: av.container.InputContainer,
    stream: av.VideoStream,
    header: _Header,
    byte_size: int,
    log: ErrorLog,
) -> _Scan:
    """Demux every packet of `stream` without decoding; never raises for bad data."""
    scan = _Scan()
    tb = header.time_base or Fraction(1, 1000)
    seen = len(log)
    try:
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is None:
                continue  # the end-of-stream flush packet
            index = scan.packets
            scan.packets += 1
            if packet.is_corrupt:
                scan.corrupt_packets.append(index)
            if packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > byte_size:
                scan.past_eof = True
            if packet.pts is not None:
                start = float(packet.pts * tb) * 1000
                scan.pts_ms.append(start)
                end = start + float((packet.duration or 0) * tb) * 1000
                scan.end_ms = end if scan.end_ms is None else max(scan.end_ms, end)
                scan.start_ms = start if scan.start_ms is None else min(scan.start_ms, start)
    except av.FFmpegError as e:
        scan.demux_error = f"after packet {scan.packets}: {_short(e)}"
    scan.demux_messages = [
        f"{line.source}: {line.message}"
        for line in log.since(seen)
        if line.source == container.format.name and line.level <= av.logging.ERROR
    ]
    return scan


def _truncation(header: _Header, scan: _Scan, byte_size: int) -> str:
    """Why the file looks cut short (empty string when it does not)."""
    why = []
    tail = scan.corrupt_packets and scan.corrupt_packets[-1] == scan.packets - 1
    if tail:
        why.append(f"last packet ({scan.packets - 1}) is incomplete")
    if scan.past_eof:
        why.append(f"packets point past the end of the file ({byte_size} bytes)")
    if scan.demux_error:
        why.append(f"demuxer failed {scan.demux_error}")
    if header.duration_s and not scan.packets:
        why.append(f"no packets in a declared {header.duration_s * 1000:.1f} ms")
    if header.duration_s and scan.end_ms is not None and scan.start_ms is not None:
        positive = sorted(b - a for a, b in itertools.pairwise(sorted(scan.pts_ms)) if b > a)
        interval = positive[len(positive) // 2] if positive else 0.0
        covered = scan.end_ms - scan.start_ms
        if header.duration_s * 1000 - covered > max(2 * interval, 1.0):
            why.append(
                f"packets end at {covered:.1f} ms of a declared {header.duration_s * 1000:.1f} ms"
            )
    if why and scan.demux_messages:
        why.append("; ".join(scan.demux_messages[:2]))
    return ", ".join(why)


def _timing_detail(code: str, timing: TimingReport) -> str:
    if code == codes.DROPPED_FRAMES:
        first = timing.dropped[0].describe()
        more = f" (+{len(timing.dropped) - 1} more)" if len(timing.dropped) > 1 else ""
        count = f"{len(timing.dropped)} dropped-frame events, {timing.dropped_frame_count} frames"
        return f"{count}: {first}{more}"
    if code == codes.NON_MONOTONIC_PTS:
        return f"{timing.non_monotonic} frames out of order, {timing.missing_pts} without pts"
    return f"p95/median frame interval {timing.vfr_ratio:.2f}"


def _summary(header: _Header, decoded: int) -> str:
    size = f"{header.width}x{header.height}" if header.width else "?"
    fps = f"{header.fps:.3g} fps" if header.fps else "? fps"
    return f"{header.container} {header.codec} {size} {fps}, {decoded} frames decoded"


def _ms(pts: int | None, tb: Fraction) -> float | None:
    return None if pts is None else float(pts * tb * 1000)


def _at(pts: float | None) -> str:
    return "" if pts is None else f" (pts {pts:.1f} ms)"


def _short(e: BaseException) -> str:
    return (getattr(e, "strerror", None) or str(e)).strip()


def _error_detail(e: av.FFmpegError, lines: list[LogLine]) -> str:
    errors = [line for line in lines if line.level <= av.logging.ERROR]
    said = "; ".join(f"{line.source}: {line.message}" for line in errors[:3])
    return f"cannot open container: {_short(e)}" + (f" ({said})" if said else "")


def _parse_clock(text: str) -> float | None:
    """'HH:MM:SS.fraction' (Matroska's per-track DURATION tag) in seconds."""
    try:
        h, m, s = text.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        return None
