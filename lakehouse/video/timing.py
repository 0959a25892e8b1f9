"""Frame-timing integrity from real presentation timestamps: gaps, order, frame-rate variation.

Pure: a list of per-frame pts in milliseconds (in decoded order) in, a `TimingReport` out. The
timestamps must be the frames' own (PyAV `frame.pts * time_base`): a container's average frame
rate (OpenCV's CAP_PROP_FPS) spreads a gap over the whole clip and hides it.

Gaps and frame-rate variation are measured on the presentation timeline (timestamps sorted), so
two swapped frames count once as non-monotonic and not also as two gaps. The reference interval
is the median of the positive intervals; a frame whose interval since the previous timestamp
exceeds `max_gap_factor` x that median is a dropped-frame event.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from lakehouse.video.policy import VideoPolicy

# Reason codes of a video verdict. Timing codes come from `analyse_timestamps`; the others from
# the container and decode checks of `lakehouse.video.extract`.
DROPPED_FRAMES = "dropped_frames"
NON_MONOTONIC_PTS = "non_monotonic_pts"
VARIABLE_FRAME_RATE = "variable_frame_rate"
FRAME_COUNT_MISMATCH = "frame_count_mismatch"
TRUNCATED_STREAM = "truncated_stream"
DECODE_ERROR_MID_STREAM = "decode_error_mid_stream"

MAX_EVENTS = 50  # event lines kept per report; the rest are summarised in one last line


@dataclass(frozen=True)
class DroppedFrames:
    """One dropped-frame event: the frames missing before decoded frame `index`."""

    index: int  # decoded index of the first frame after the gap
    pts_ms: float  # its presentation time
    previous_pts_ms: float  # presentation time of the frame before the gap
    interval_ms: float  # pts_ms - previous_pts_ms
    gap_ms: float  # interval_ms - median interval: presentation time without a frame
    frames: int  # frames missing: round(interval / median) - 1, at least 1

    def describe(self) -> str:
        return (
            f"gap at frame {self.index} (pts {self.pts_ms:.1f} ms): {self.gap_ms:.1f} ms = "
            f"{self.frames} frame{'s' if self.frames != 1 else ''} missing after pts "
            f"{self.previous_pts_ms:.1f} ms"
        )


@dataclass(frozen=True)
class TimingReport:
    """Timing statistics of one video's frames and the policy codes they violate."""

    frames: int  # timestamps analysed (decoded frames)
    median_interval_ms: float | None
    p95_interval_ms: float | None
    max_interval_ms: float | None
    measured_fps: float | None  # 1000 / median interval
    nominal_fps: float | None  # as declared by the container
    vfr_ratio: float | None  # p95 interval / median interval (1.0 = constant rate)
    dropped: tuple[DroppedFrames, ...]
    non_monotonic: int  # frames whose pts is not after the previous frame's
    missing_pts: int  # frames without a pts
    events: tuple[str, ...]  # human-readable, capped at MAX_EVENTS lines
    violations: tuple[str, ...]  # subset of DROPPED_FRAMES, NON_MONOTONIC_PTS, VARIABLE_FRAME_RATE

    @property
    def dropped_frame_count(self) -> int:
        """Frames missing over all dropped-frame events."""
        return sum(d.frames for d in self.dropped)


def analyse_timestamps(
    pts_ms: Sequence[float | None],
    nominal_fps: float | None,
    policy: VideoPolicy,
    *,
    undecoded_pts_ms: Sequence[float] = (),
    tail_grace: int = 0,
) -> TimingReport:
    """Timing report of frames with presentation times `pts_ms` (decoded order, None = no pts).

    `nominal_fps` is reported, and compared with the measured rate in an event line; the
    checks themselves use the median interval, which a container cannot misdeclare.
    `undecoded_pts_ms` are timestamps of frames the container holds but that failed to decode:
    they fill the timeline (a decode error is not also a dropped frame) but are not ordered.
    Gaps and frame-rate variation among the last `tail_grace` frames of the timeline are not
    counted: in a truncated stream the last packets present may be frames shown after packets
    that were cut off.
    """
    events: list[str] = []
    known: list[tuple[float, int]] = []
    missing = non_monotonic = 0
    previous: float | None = None
    unplaced = [0]  # prefix counts of frames without a usable pts (missing or repeated)
    for index, pts in enumerate(pts_ms):
        placed = False
        if pts is None or math.isnan(pts):
            missing += 1
            events.append(f"frame {index} has no pts")
        else:
            if previous is not None and pts <= previous:
                non_monotonic += 1
                how = "repeats" if pts == previous else "goes back"
                events.append(
                    f"pts {how} at frame {index} (pts {pts:.1f} ms after {previous:.1f} ms)"
                )
            placed = previous is None or pts != previous  # a repeat has no slot of its own
            if placed:
                known.append((pts, index))
            previous = pts
        unplaced.append(unplaced[-1] + (not placed))

    timeline = sorted(known + [(pts, -1) for pts in undecoded_pts_ms])  # stable
    intervals = [b[0] - a[0] for a, b in itertools.pairwise(timeline)]
    positive = sorted(i for i in intervals if i > 0)
    median = _median(positive)
    # intervals ending among the last `tail_grace` frames count for the median only
    checked = sorted(i for i in intervals[: max(0, len(intervals) - tail_grace)] if i > 0)
    p95 = checked[math.ceil(0.95 * len(checked)) - 1] if checked else None
    dropped: list[DroppedFrames] = []
    if median is not None:
        counted = len(timeline) - tail_grace
        for position, ((prev_pts, prev_index), (pts, index), interval) in enumerate(
            zip(timeline, timeline[1:], intervals, strict=False), start=1
        ):
            if interval <= policy.max_gap_factor * median or position >= counted:
                continue
            # frames decoded between the two without a pts of their own fill the gap first
            low, high = sorted((prev_index, index))
            filled = unplaced[high] - unplaced[low + 1] if low >= 0 else 0
            frames = round(interval / median) - 1 - filled
            if frames < 1 and filled:
                continue
            gap = DroppedFrames(index, pts, prev_pts, interval, interval - median, max(1, frames))
            dropped.append(gap)
            events.append(gap.describe())
    vfr = p95 / median if p95 is not None and median else None
    if vfr is not None and vfr > policy.max_vfr_ratio:
        events.append(
            f"variable frame rate: p95 interval {p95:.1f} ms is {vfr:.2f}x the median "
            f"{median:.1f} ms"
        )
    measured = 1000.0 / median if median else None
    if (
        measured
        and nominal_fps
        and max(measured, nominal_fps) > policy.max_gap_factor * min(measured, nominal_fps)
    ):
        events.append(f"measured {measured:.2f} fps differs from nominal {nominal_fps:.2f} fps")

    violations = []
    if len(dropped) > policy.max_dropped_events:
        violations.append(DROPPED_FRAMES)
    if (non_monotonic or missing) and not policy.allow_non_monotonic:
        violations.append(NON_MONOTONIC_PTS)
    if vfr is not None and vfr > policy.max_vfr_ratio:
        violations.append(VARIABLE_FRAME_RATE)
    return TimingReport(
        frames=len(pts_ms),
        median_interval_ms=median,
        p95_interval_ms=p95,
        max_interval_ms=positive[-1] if positive else None,
        measured_fps=measured,
        nominal_fps=nominal_fps,
        vfr_ratio=vfr,
        dropped=tuple(dropped),
        non_monotonic=non_monotonic,
        missing_pts=missing,
        events=cap_events(events),
        violations=tuple(violations),
    )


def cap_events(events: Sequence[str], limit: int = MAX_EVENTS) -> tuple[str, ...]:
    """At most `limit` lines: the first `limit - 1` and a count of the rest."""
    if len(events) <= limit:
        return tuple(events)
    return (*events[: limit - 1], f"... and {len(events) - limit + 1} more events")


def _median(values: Sequence[float]) -> float | None:
    """Median of sorted `values` (None when empty)."""
    n = len(values)
    if not n:
        return None
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2
