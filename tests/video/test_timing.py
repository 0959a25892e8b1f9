"""analyse_timestamps: exact gap, order and frame-rate figures from presentation timestamps."""

from __future__ import annotations

import pytest

from lakehouse.video.policy import VideoPolicy
from lakehouse.video.timing import MAX_EVENTS, DroppedFrames, analyse_timestamps

DEFAULT = VideoPolicy()


def stamps(n: int, fps: float = 30.0, gap_at: int | None = None, gap_frames: int = 0) -> list:
    """pts in ms of n frames at fps, frames from `gap_at` on shifted by `gap_frames` slots."""
    return [
        (i + (gap_frames if gap_at is not None and i >= gap_at else 0)) * 1000 / fps
        for i in range(n)
    ]


def test_regular_stream():
    report = analyse_timestamps(stamps(60), 30.0, DEFAULT)
    assert report.frames == 60
    assert report.median_interval_ms == pytest.approx(1000 / 30)
    assert report.max_interval_ms == pytest.approx(1000 / 30)
    assert report.vfr_ratio == pytest.approx(1.0)
    assert report.measured_fps == pytest.approx(30.0)
    assert (report.dropped, report.non_monotonic, report.missing_pts) == ((), 0, 0)
    assert (report.events, report.violations) == ((), ())


def test_gap_position_and_length_are_exact():
    report = analyse_timestamps(stamps(60, gap_at=20, gap_frames=9), 30.0, DEFAULT)
    (gap,) = report.dropped
    assert gap == DroppedFrames(
        index=20,
        pts_ms=pytest.approx(966.667, abs=1e-3),
        previous_pts_ms=pytest.approx(633.333, abs=1e-3),
        interval_ms=pytest.approx(333.333, abs=1e-3),
        gap_ms=pytest.approx(300.0),
        frames=9,
    )
    assert report.dropped_frame_count == 9
    assert report.events == (
        "gap at frame 20 (pts 966.7 ms): 300.0 ms = 9 frames missing after pts 633.3 ms",
    )
    assert report.violations == ("dropped_frames",)
    assert report.max_interval_ms == pytest.approx(1000 / 3)
    assert report.vfr_ratio == pytest.approx(1.0)  # one gap in 59 intervals is not VFR


def test_gap_factor_is_a_strict_bound():
    at_bound = [0, 10, 20, 30, 45, 55, 65]  # a 15 ms interval = 1.5 x the 10 ms median
    assert analyse_timestamps(at_bound, None, DEFAULT).dropped == ()
    over = [0, 10, 20, 30, 46, 56, 66]
    (gap,) = analyse_timestamps(over, None, DEFAULT).dropped
    assert (gap.index, gap.frames, gap.gap_ms) == (4, 1, pytest.approx(6.0))
    assert analyse_timestamps(over, None, VideoPolicy(max_gap_factor=2.0)).dropped == ()


def test_dropped_events_tolerance():
    pts = stamps(100, gap_at=10, gap_frames=2)
    pts = pts[:25] + [p + 100 for p in pts[25:]]  # a second gap
    report = analyse_timestamps(pts, 30.0, DEFAULT)
    assert [d.index for d in report.dropped] == [10, 25]
    assert report.violations == ("dropped_frames",)
    assert analyse_timestamps(pts, 30.0, VideoPolicy(max_dropped_events=2)).violations == ()


def test_swapped_frames_count_once_and_make_no_gap():
    pts = stamps(60)
    pts[30], pts[31] = pts[31], pts[30]
    report = analyse_timestamps(pts, 30.0, DEFAULT)
    assert (report.non_monotonic, report.dropped) == (1, ())
    assert report.events == ("pts goes back at frame 31 (pts 1000.0 ms after 1033.3 ms)",)
    assert report.violations == ("non_monotonic_pts",)
    assert analyse_timestamps(pts, 30.0, VideoPolicy(allow_non_monotonic=True)).violations == ()


def test_repeated_and_missing_pts():
    pts: list[float | None] = list(stamps(60))
    pts[4] = pts[3]
    pts[7] = None
    report = analyse_timestamps(pts, 30.0, DEFAULT)
    assert (report.non_monotonic, report.missing_pts, report.frames) == (1, 1, 60)
    assert report.events == (
        "pts repeats at frame 4 (pts 100.0 ms after 100.0 ms)",
        "frame 7 has no pts",
    )
    assert report.violations == ("non_monotonic_pts",)
    # the slots of frames 4 and 7 are empty on the timeline, but those frames exist: no gap
    assert report.dropped == ()


def test_unplaced_frames_fill_only_their_share_of_a_gap():
    pts: list[float | None] = list(stamps(30, gap_at=10, gap_frames=3))
    pts[9] = None  # 3 frames dropped before frame 10, and frame 9 lost its pts
    (gap,) = analyse_timestamps(pts, 30.0, DEFAULT).dropped
    assert (gap.index, gap.frames) == (10, 3)


def test_variable_frame_rate():
    # a phone camera alternating 30 and 40 ms: median 35, p95 40
    pts = [0.0]
    for i in range(40):
        pts.append(pts[-1] + (30 if i % 2 else 40))
    report = analyse_timestamps(pts, None, DEFAULT)
    assert report.median_interval_ms == pytest.approx(35.0)
    assert report.p95_interval_ms == pytest.approx(40.0)
    assert report.vfr_ratio == pytest.approx(40 / 35)
    assert report.violations == ()
    strict = analyse_timestamps(pts, None, VideoPolicy(max_vfr_ratio=1.1))
    assert strict.violations == ("variable_frame_rate",)
    assert strict.events == (
        "variable frame rate: p95 interval 40.0 ms is 1.14x the median 35.0 ms",
    )


def test_millisecond_rounding_is_not_vfr():
    pts = [round(i * 1000 / 30) for i in range(300)]  # Matroska: 0, 33, 67, 100, ...
    report = analyse_timestamps(pts, 30.0, DEFAULT)
    assert report.violations == ()
    assert report.vfr_ratio == pytest.approx(34 / 33)


def test_undecoded_frames_fill_the_timeline():
    pts = stamps(30)
    lost = pts.pop(12)
    assert analyse_timestamps(pts, 30.0, DEFAULT).violations == ("dropped_frames",)
    report = analyse_timestamps(pts, 30.0, DEFAULT, undecoded_pts_ms=[lost])
    assert (report.violations, report.frames) == ((), 29)


def test_tail_grace_ignores_gaps_at_the_end_only():
    pts = stamps(30)
    del pts[27]  # a hole two frames before the end
    assert analyse_timestamps(pts, 30.0, DEFAULT).violations == ("dropped_frames",)
    assert analyse_timestamps(pts, 30.0, DEFAULT, tail_grace=4).violations == ()
    vfr = stamps(30)
    vfr[-3:] = [vfr[-4] + 100, vfr[-4] + 200, vfr[-4] + 300]  # slow, then cut: not VFR
    assert analyse_timestamps(vfr, 30.0, DEFAULT, tail_grace=4).violations == ()
    early = stamps(30)
    del early[5]
    assert analyse_timestamps(early, 30.0, DEFAULT, tail_grace=4).violations == ("dropped_frames",)


def test_nominal_rate_mismatch_is_an_event_only():
    report = analyse_timestamps(stamps(30, fps=15), 30.0, DEFAULT)
    assert report.events == ("measured 15.00 fps differs from nominal 30.00 fps",)
    assert report.violations == () and report.nominal_fps == 30.0


@pytest.mark.parametrize("pts", [[], [12.0], [None, None]])
def test_too_few_frames(pts):
    report = analyse_timestamps(pts, 25.0, DEFAULT)
    assert report.median_interval_ms is None and report.vfr_ratio is None
    assert report.dropped == ()


def test_events_are_capped():
    pts = [float(i * 10 + (i // 2) * 30) for i in range(400)]  # a gap every other frame
    report = analyse_timestamps(pts, None, VideoPolicy(max_gap_factor=1.1))
    assert len(report.dropped) > MAX_EVENTS
    assert len(report.events) == MAX_EVENTS
    assert report.events[-1].startswith("... and ") and report.events[-1].endswith(" more events")
