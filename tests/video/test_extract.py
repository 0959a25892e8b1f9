"""process_video on real sample videos: verdicts, facts, frames, sampling, bounded batches."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np
import pytest
from PIL import Image

from lakehouse import samples_video as sv
from lakehouse.video import (
    CORRUPT_REASONS,
    POLICY_REASONS,
    Frame,
    VideoPolicy,
    VideoResult,
    process_video,
)

DEFAULT = VideoPolicy()


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every sample case, written once for the module (well under a second in all)."""
    root = tmp_path_factory.mktemp("videos")
    return {case.name: case.write(root / case.filename) for case in sv.VIDEO_CASES}


def run(path: Path, policy: VideoPolicy = DEFAULT, batch: int = 32, **kwargs):
    frames: list[Frame] = []
    result = process_video(str(path), policy, frames.extend, batch, **kwargs)
    return result, frames


def decoded_rgb(path: Path) -> list[tuple[float, np.ndarray]]:
    """Independent plain-PyAV decode: (pts ms, RGB array) of every frame that decodes."""
    out = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        assert tb is not None
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            out += [(float((f.pts or 0) * tb * 1000), f.to_ndarray(format="rgb24")) for f in frames]
    return out


@pytest.mark.parametrize("case", sv.VIDEO_CASES, ids=lambda c: c.name)
def test_case_verdict(videos, case):
    result, frames = run(videos[case.name])
    assert (result.category, result.reasons) == (case.category, case.reasons)
    assert result.detail and "\n" not in result.detail
    assert set(result.reasons) <= set(CORRUPT_REASONS + POLICY_REASONS)
    assert result.keep_frames == (case.category is None)
    assert result.frames_stored == (result.frames_emitted if result.keep_frames else 0)
    assert len(frames) == result.frames_emitted
    if case.category is None:
        assert result.frames_emitted == result.frames_decoded == 60
    if case.category == "policy" and "non_monotonic_pts" not in case.reasons:
        assert result.frames_emitted == 0  # refused by the scan, before any frame was handed out
    assert result.video_id == hashlib.sha256(videos[case.name].read_bytes()).hexdigest()
    assert all(f.video_id == result.video_id for f in frames)
    assert result.byte_size == videos[case.name].stat().st_size


@pytest.mark.parametrize(
    ("name", "container", "codec", "frame_count"),
    [("mp4", "mp4", "h264", 60), ("mp4_faststart", "mp4", "h264", 60),
     ("avi_mjpg", "avi", "mjpeg", 60), ("mkv", "mkv", "h264", None)],
)  # fmt: skip
def test_header_facts(videos, name, container, codec, frame_count):
    result, _ = run(videos[name])
    assert (result.container, result.codec, result.frame_count) == (container, codec, frame_count)
    assert result.fps == pytest.approx(30.0)
    assert result.duration_s == pytest.approx(2.0)
    assert (result.width, result.height) == sv.SMALL
    assert (result.sampling, result.frame_encoding) == ("every:1", "png")
    timing = result.timing
    assert timing is not None and timing.violations == () and timing.frames == 60
    assert timing.median_interval_ms == pytest.approx(1000 / 30, abs=0.5)


def test_png_frames_are_the_decoded_frames(videos):
    for name in ("mp4", "avi_mjpg", "mkv"):
        _result, frames = run(videos[name])
        reference = decoded_rgb(videos[name])
        assert [f.frame_index for f in frames] == list(range(60))
        for frame, (pts, rgb) in zip(frames, reference, strict=True):
            assert frame.pts_ms == pytest.approx(pts)
            assert (frame.width, frame.height, frame.media_type) == (160, 120, "image/png")
            assert frame.sha256 == hashlib.sha256(frame.content).hexdigest()
            bgr = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(bgr[:, :, ::-1], rgb)  # lossless
        assert len({f.sha256 for f in frames}) == 60  # the camera pans: every frame differs


def test_jpeg_frames_honour_quality(videos):
    result, frames = run(videos["mp4"], VideoPolicy(frame_encoding="jpeg:70"))
    assert result.frame_encoding == "jpeg:q70" and result.keep_frames
    reference = decoded_rgb(videos["mp4"])
    for frame, (_, rgb) in zip(frames, reference, strict=True):
        assert frame.media_type == "image/jpeg"
        ours = Image.open(io.BytesIO(frame.content))
        theirs = io.BytesIO()
        Image.fromarray(rgb).save(theirs, "JPEG", quality=70)
        assert ours.quantization == Image.open(theirs).quantization
        assert np.abs(np.asarray(ours).astype(int) - rgb).mean() < 10  # the same picture


def test_sampling_every_n(videos):
    result, frames = run(videos["mp4"], VideoPolicy(sampling="every:7"))
    assert [f.frame_index for f in frames] == list(range(0, 60, 7))
    assert (result.frames_decoded, result.frames_emitted, result.sampling) == (60, 9, "every:7")
    assert [f.pts_ms for f in frames] == pytest.approx([i * 1000 / 30 for i in range(0, 60, 7)])


@pytest.mark.parametrize("name", ["mp4", "mkv", "avi_mjpg"])
def test_sampling_fps(videos, name):
    result, frames = run(videos[name], VideoPolicy(sampling="fps:7.5"))
    assert [f.frame_index for f in frames] == list(range(0, 60, 4))
    assert result.sampling == "fps:7.5"
    assert [f.pts_ms for f in frames] == pytest.approx(
        [i * 1000 / 30 for i in range(0, 60, 4)], abs=0.5
    )


def test_gap_report_is_exact(videos):
    result, _ = run(videos["missing_timestamps"])
    timing = result.timing
    assert timing is not None and len(timing.dropped) == 1
    gap = timing.dropped[0]
    assert (gap.index, gap.frames) == (20, 9)
    assert gap.pts_ms == pytest.approx(29 * 1000 / 30)
    assert gap.previous_pts_ms == pytest.approx(19 * 1000 / 30)
    assert gap.gap_ms == pytest.approx(300.0)
    assert timing.median_interval_ms == pytest.approx(1000 / 30)
    assert timing.max_interval_ms == pytest.approx(1000 / 3)
    assert "gap at frame 20 (pts 966.7 ms): 300.0 ms = 9 frames missing" in result.events[0]
    assert result.frame_count == 60 and result.frames_decoded == 60
    tolerant, frames = run(videos["missing_timestamps"], VideoPolicy(max_dropped_events=1))
    assert tolerant.category is None and len(frames) == 60 and tolerant.keep_frames


def test_avi_gap_frame_count_tolerance(videos):
    result, _ = run(videos["avi_missing_timestamps"], VideoPolicy(frame_count_tolerance=0.2))
    assert result.reasons == ("dropped_frames",)
    assert (result.frame_count, result.frames_decoded) == (69, 60)


def test_non_monotonic_frames(videos):
    result, frames = run(videos["non_monotonic"])
    assert result.timing is not None and result.timing.non_monotonic == 1
    assert result.timing.dropped == ()
    assert [f.frame_index for f in frames] == list(range(60))
    assert frames[30].pts_ms > frames[31].pts_ms  # the swapped pair, as stamped
    assert not result.keep_frames  # emitted (the scan cannot see order), then refused
    allowed, _ = run(videos["non_monotonic"], VideoPolicy(allow_non_monotonic=True))
    assert allowed.category is None and allowed.keep_frames


@pytest.mark.parametrize("name", ["truncated_index_front", "truncated_mkv"])
def test_truncated_head_kept_only_if_allowed(videos, name):
    refused, none = run(videos[name])
    assert refused.frames_decoded > 10 and refused.frames_emitted == 0 and none == []
    kept, frames = run(videos[name], VideoPolicy(keep_truncated_frames=True))
    assert (kept.category, kept.reasons) == ("corrupt", ("truncated_stream",))  # flagged still
    assert kept.keep_frames and kept.frames_emitted == kept.frames_decoded == len(frames)
    reference = decoded_rgb(videos[name])
    assert len(frames) <= len(reference)
    for frame, (pts, rgb) in zip(frames, reference, strict=False):
        assert frame.pts_ms == pytest.approx(pts)
        bgr = cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(bgr[:, :, ::-1], rgb)
    assert "truncated" in kept.detail


def test_unreadable_and_empty_decode_nothing(videos):
    for name in ("truncated_index_end", "not_a_video", "empty", "audio_only"):
        result, frames = run(videos[name])
        assert result.frames_decoded == 0 and frames == [] and result.timing is None
    result, _ = run(videos["truncated_index_end"])
    assert "moov atom not found" in result.detail


def test_decode_errors_are_recorded(videos):
    avi, _ = run(videos["damaged_avi"])
    assert avi.frames_decoded >= 59 and "packet 30" in avi.detail
    assert any(e.startswith("decode error at packet 30") for e in avi.events)
    mp4, frames = run(videos["damaged_mp4"])
    assert mp4.frames_decoded == 60 and len(frames) == 60 and not mp4.keep_frames
    assert any(e.startswith("decode error at packet") for e in mp4.events)


def test_header_limits_refuse_before_decoding(videos):
    result, frames = run(videos["mp4"], VideoPolicy(max_megapixels=0.01, max_duration_s=1.5))
    assert (result.category, result.reasons) == ("policy", ("too_many_pixels", "too_long"))
    assert (result.frames_decoded, frames, result.timing) == (0, [], None)
    assert "160x120" in result.detail and "2.0 s is over 1.5 s" in result.detail


def test_batches_are_bounded_and_frames_released(tmp_path):
    path = sv.write_mkv(tmp_path / "long.mkv", frames=300, size=(64, 48))
    sizes: list[int] = []
    alive = {"now": 0, "max": 0}
    indices: list[int] = []

    def gone() -> None:
        alive["now"] -= 1

    def on_frames(batch: list[Frame]) -> None:
        sizes.append(len(batch))
        for frame in batch:
            weakref.finalize(frame, gone)
            indices.append(frame.frame_index)
        alive["now"] += len(batch)
        alive["max"] = max(alive["max"], alive["now"])

    result = process_video(str(path), DEFAULT, on_frames, batch_frames=8)
    assert result.category is None and result.frames_emitted == 300
    assert max(sizes) == 8 and sizes == [8] * 37 + [4]
    assert indices == list(range(300))
    assert alive["max"] <= 8  # earlier batches were freed: nothing accumulates


def test_on_frames_errors_propagate(videos):
    def fail(batch: list[Frame]) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        process_video(str(videos["mp4"]), DEFAULT, fail, 8)
    assert av.logging.get_level() is None  # the log capture was undone


@pytest.mark.parametrize("thread_type", ["NONE", "SLICE", "FRAME", "AUTO"])
@pytest.mark.parametrize("threads", [1, 3])
def test_threading_does_not_change_frames(videos, thread_type, threads):
    _, reference = run(videos["mp4"], threads=1, thread_type="NONE")
    result, frames = run(videos["mp4"], threads=threads, thread_type=thread_type)
    assert result.category is None
    assert [(f.frame_index, f.sha256) for f in frames] == [
        (f.frame_index, f.sha256) for f in reference
    ]


def test_concurrent_calls_in_threads(videos):
    names = ["mp4", "damaged_mp4", "mkv", "damaged_avi"] * 2
    results: dict[int, VideoResult] = {}

    def work(i: int) -> None:
        results[i] = run(videos[names[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, name in enumerate(names):
        expected = next(c for c in sv.VIDEO_CASES if c.name == name)
        assert results[i].reasons == expected.reasons


def test_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        process_video(str(tmp_path / "nope.mp4"), DEFAULT, lambda b: None)


def test_log_level_is_restored(videos):
    av.logging.set_level(av.logging.WARNING)
    try:
        run(videos["damaged_mp4"])
        assert av.logging.get_level() == av.logging.WARNING
    finally:
        av.logging.set_level(None)


@pytest.mark.parametrize("name", ["mp4", "mp4_faststart", "avi_mjpg", "mkv"])
def test_damage_never_crashes(videos, tmp_path, name):
    """Cuts and byte damage anywhere: a verdict every time, never an exception."""
    data = videos[name].read_bytes()
    rng = np.random.default_rng(len(data))
    variants = [data[: int(len(data) * k / 10)] for k in range(1, 10)]
    for _ in range(8):
        damaged = bytearray(data)
        at = int(rng.integers(0, len(data) - 256))
        damaged[at : at + 256] = rng.integers(0, 256, 256, np.uint8).tobytes()
        variants.append(bytes(damaged))
    for i, variant in enumerate(variants):
        path = tmp_path / f"{i}_{videos[name].name}"
        path.write_bytes(variant)
        result, frames = run(path, VideoPolicy(keep_truncated_frames=True))
        assert result.category in (None, "corrupt", "policy")
        assert len(frames) == result.frames_emitted
        if i < 9:  # a cut file is never accepted as whole
            assert result.category == "corrupt", (i, result.reasons, result.detail)


def test_demuxer_failure_mid_decode_does_not_deadlock(videos):
    """Regression: the demuxer failing with frame-threaded decoding in flight deadlocked
    (PyAV freed the decoder holding the GIL while a decoder thread waited for it to log)."""
    path = videos["broken_index"]
    code = (
        "import sys\n"
        "from lakehouse.video import VideoPolicy, process_video\n"
        "for _ in range(15):\n"
        "    r = process_video(sys.argv[1], VideoPolicy(), lambda b: None, thread_type='AUTO')\n"
        "    assert 'demuxer failed' in r.detail, r.detail\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], timeout=120, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_frame_phash_matches_the_image_path(videos):
    """A frame's phash is that of its luminance before encoding: for PNG frames the image
    path's phash of the stored bytes (decode_verified, as dedup recomputes it), for JPEG
    frames within a few bits of it (JPEG loss)."""
    from lakehouse.media import decode_verified, hamming, phash64, probe

    _, pngs = run(videos["mp4"])
    for frame in pngs:
        stored = phash64(decode_verified(frame.content, probe(frame.content, "png")))
        assert frame.phash == stored
    _, jpegs = run(videos["mp4"], VideoPolicy(frame_encoding="jpeg:90"))
    for frame in jpegs:
        stored = phash64(decode_verified(frame.content, probe(frame.content, "jpeg")))
        assert hamming(frame.phash, stored) <= 4
