"""Sampler: every:N by decoded index, fps:F by presentation time, exactly."""

from __future__ import annotations

from fractions import Fraction

import pytest

from lakehouse.video.policy import parse_sampling
from lakehouse.video.sampling import Sampler


def kept(sampling: str, pts: list[float | None], tick_ms: float = 0.0) -> list[int]:
    sampler = Sampler(parse_sampling(sampling), tick_ms)
    return [i for i, p in enumerate(pts) if sampler.keep(i, p)]


def mp4_pts(n: int, fps: int = 30) -> list[float | None]:
    """pts as PyAV gives them from an MP4 (time base 1/15360), in ms."""
    step = 15360 // fps
    return [float(Fraction(i * step, 15360) * 1000) for i in range(n)]


@pytest.mark.parametrize(("n", "expected"), [(1, list(range(10))), (3, [0, 3, 6, 9]), (7, [0, 7])])
def test_every_n_by_decoded_index(n, expected):
    assert kept(f"every:{n}", [None] * 10) == expected  # pts play no part


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (10, list(range(0, 60, 3))),
        (7.5, list(range(0, 60, 4))),
        (15, list(range(0, 60, 2))),
        (1, [0, 30]),
        (30, list(range(60))),
        (60, list(range(60))),  # above the source rate: every frame, once
        (12, [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30, 33, 35, 38, 40, 43, 45, 48, 50,
              53, 55, 58]),
    ],
)  # fmt: skip
def test_fps_by_presentation_time(fps, expected):
    assert kept(f"fps:{fps}", mp4_pts(60), tick_ms=1000 / 15360) == expected


def test_fps_with_millisecond_timestamps():
    pts: list[float | None] = [float(round(i * 1000 / 30)) for i in range(30)]  # 0, 33, 67, 100
    # 15 fps slots at 0, 66.7, 133.3, ...: frame 4 (133 ms) is within half a 1 ms tick of it
    assert kept("fps:15", pts, tick_ms=1.0) == list(range(0, 30, 2))
    assert kept("fps:15", pts, tick_ms=0.0) != list(range(0, 30, 2))  # why the tick matters


def test_fps_with_a_coarse_time_base():
    pts: list[float | None] = [i * 1000 / 30 for i in range(60)]  # AVI: time base 1/30 s
    assert kept("fps:7.5", pts, tick_ms=1000 / 30) == list(range(0, 60, 4))


def test_fps_starts_at_the_first_frame():
    pts: list[float | None] = [500.0 + p for p in mp4_pts(30) if p is not None]
    assert kept("fps:10", pts, 1000 / 15360) == list(range(0, 30, 3))


def test_fps_after_a_gap_no_burst():
    pts = mp4_pts(60)
    pts = pts[:20] + [p + 1000 for p in pts[20:] if p is not None]  # 1 s without frames
    picked = kept("fps:10", pts, 1000 / 15360)
    assert picked[:7] == [0, 3, 6, 9, 12, 15, 18]
    assert picked[7] == 20  # 1666.7 ms: one frame for the ten slots the gap passed
    assert picked[8:] == list(range(21, 60, 3))  # back on the 100 ms grid: 1700 ms, ...


def test_fps_skips_frames_without_pts_and_going_back():
    pts = mp4_pts(12)
    pts[3] = None
    pts[7] = pts[5]  # stamped back in time: below the next slot
    assert kept("fps:10", pts, 1000 / 15360) == [0, 4, 6, 9]
