"""Sample videos: deterministic, fast to make, and what they claim to be."""

from __future__ import annotations

import itertools
import time

import av
import numpy as np
import pytest

from lakehouse import samples_video as sv


def test_pyav_wheel_codecs():
    """Facts the samples rely on: PyAV's wheel encodes H.264 with libx264, and MJPEG."""
    assert sv.H264_ENCODER == "libx264"
    for name in ("h264", "mjpeg", "mpeg4"):
        av.codec.Codec(name, "r")
    for name in ("libx264", "mjpeg", "mpeg4", "pcm_s16le"):
        av.codec.Codec(name, "w")


@pytest.mark.parametrize(
    "write",
    [
        lambda p: sv.write_mp4(p, size=sv.SMALL),
        lambda p: sv.write_mp4(p, size=sv.SMALL, faststart=True),
        lambda p: sv.write_avi_mjpg(p, size=sv.SMALL),
        lambda p: sv.write_mkv(p, size=sv.SMALL),
        sv.write_non_monotonic,
        sv.write_audio_only,
    ],
    ids=["mp4", "mp4_faststart", "avi", "mkv", "non_monotonic_mkv", "audio_mkv"],
)
def test_writers_are_deterministic(tmp_path, write):
    first = write(tmp_path / "a.bin").read_bytes()
    second = write(tmp_path / "b.bin").read_bytes()
    assert first == second and len(first) > 1000


def test_index_position(tmp_path):
    end = sv.write_mp4(tmp_path / "end.mp4", size=sv.SMALL).read_bytes()
    front = sv.write_mp4(tmp_path / "front.mp4", size=sv.SMALL, faststart=True).read_bytes()
    assert front.index(b"moov") < front.index(b"mdat")
    assert end.index(b"mdat") < end.index(b"moov")


def test_pan_frames_move():
    frames = list(sv.pan_frames(30, sv.SMALL))
    assert all(f.shape == (120, 160, 3) and f.dtype == np.uint8 for f in frames)
    diffs = [np.abs(a.astype(int) - b).mean() for a, b in itertools.pairwise(frames)]
    assert min(diffs) > 0.5  # every frame differs from the one before
    noisy = next(sv.pan_frames(1, sv.SMALL, noise=3.0))
    assert 1.0 < np.abs(noisy.astype(int) - frames[0]).mean() < 4.0


def test_every_case_writes_fast(tmp_path):
    started = time.perf_counter()
    for case in sv.VIDEO_CASES:
        assert case.write(tmp_path / case.filename).exists()
    assert time.perf_counter() - started < 10  # ~1 s on a quiet 2-core machine


def test_truncated_mp4_arguments(tmp_path):
    with pytest.raises(ValueError, match="front"):
        sv.write_truncated_mp4(tmp_path / "x.mp4", index_at="middle")
    path = sv.write_truncated_mp4(tmp_path / "x.mp4", keep=0.5)
    whole = sv.write_mp4(tmp_path / "whole.mp4", size=sv.SMALL, faststart=True)
    assert path.stat().st_size == whole.stat().st_size // 2
    assert not (tmp_path / "x.mp4.whole").exists()


def test_video_drop(tmp_path):
    expected = sv.write_video_drop(tmp_path)
    assert len(expected) == len(sv.VIDEO_CASES)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "videos").iterdir()) == (
        sorted(expected)
    )
    assert expected["videos/pan.mp4"] == (None, ())
