"""Sample videos for tests and benchmarks: a camera pan over a bundled photo, good and broken.

Frames come from the photographs bundled in the scikit-image and scikit-learn wheels
(`lakehouse.samples.photos`): a 4:3 window slides across the photo with sub-pixel steps, so
every frame differs, as from a real camera. Files are written with PyAV (H.264 by `libx264`,
MJPEG, PCM audio), bit-exact (no random Matroska UIDs, no creation times), so every writer is
deterministic in its arguments. Small sizes write in milliseconds; 640x480 x 300 frames takes
a few seconds (H.264 encoding).

`VIDEO_CASES` lists each broken or good kind with the verdict it must get from
`lakehouse.video.process_video` under the default `VideoPolicy`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from lakehouse.samples import photos

SMALL = (160, 120)  # size of the test videos; the benchmark uses 640x480


def _pick_h264() -> str:
    """'libx264' when the PyAV wheel has it (PyAV's wheels do), else FFmpeg's 'mpeg4'."""
    try:
        av.codec.Codec("libx264", "w")
        return "libx264"
    except av.codec.codec.UnknownCodecError:  # pragma: no cover - depends on the wheel
        return "mpeg4"


H264_ENCODER = _pick_h264()
_BITEXACT = {"fflags": "+bitexact"}


def pan_frames(
    count: int, size: tuple[int, int] = (640, 480), seed: int = 0, noise: float = 0.0
) -> Iterator[np.ndarray]:
    """`count` RGB frames of `size` (width, height): a camera panning across photo `seed`.

    The 4:3 window covers 70% of the photo's largest 4:3 crop and slides left to right with
    a slight vertical drift; `noise` adds Gaussian sensor noise of that standard deviation.
    """
    all_photos = photos()
    photo = all_photos[seed % len(all_photos)][1]
    ph, pw = photo.shape[:2]
    width, height = size
    window_w = min(pw, ph * width / height) * 0.7
    window_h = window_w * height / width
    scale = width / window_w
    rng = np.random.default_rng(seed)
    for i in range(count):
        t = i / max(1, count - 1)
        x0 = t * (pw - window_w)
        y0 = (ph - window_h) / 2 + 0.1 * (ph - window_h) * np.sin(2 * np.pi * t)
        matrix = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
        frame = cv2.warpAffine(
            photo, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        if noise:
            grain = rng.standard_normal(frame.shape, dtype=np.float32) * np.float32(noise)
            frame = np.clip(frame + grain, 0, 255).astype(np.uint8)
        yield frame


def _write(
    path: str | Path,
    container_format: str,
    codec: str,
    frames: Iterator[np.ndarray],
    fps: int,
    size: tuple[int, int],
    pts: Sequence[int] | None = None,
    codec_options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    retime: Callable[[int], tuple[int, int]] | None = None,
) -> Path:
    """Encode `frames` into `path`; frame i gets pts `pts[i]` (in 1/fps units, default i).

    `retime(i) -> (pts, dts)` rewrites the timestamps of encoded packet i before muxing
    (only sensible for intra-only codecs, whose packets are frames in order).
    """
    path = Path(path)
    options = {**_BITEXACT, **(container_options or {})}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        stream.pix_fmt = pix_fmt
        stream.time_base = Fraction(1, fps)
        stream.codec_context.time_base = Fraction(1, fps)
        stream.options = {**(codec_options or {})}
        if codec == "libx264":  # macroblock-tree rate control made x264's output vary run to run
            stream.options = {"preset": "fast", "x264-params": "mbtree=0", **stream.options}
        packets: list[av.Packet] = []
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i if pts is None else pts[i]
            packets += stream.encode(frame)
        packets += stream.encode(None)
        for i, packet in enumerate(packets):
            if retime is not None:
                packet.pts, packet.dts = retime(i)
                packet.time_base = Fraction(1, fps)
            out.mux(packet)
    return path


def write_mp4(
    path: str | Path,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = (640, 480),
    *,
    seed: int = 0,
    noise: float = 0.0,
    faststart: bool = False,
    crf: int = 23,
) -> Path:
    """H.264 (libx264, preset fast, no macroblock tree, constant quality `crf`) in MP4;
    `faststart` puts the index (moov) first."""
    options = {"movflags": "+faststart"} if faststart else {}
    codec_options = {"crf": str(crf)} if H264_ENCODER == "libx264" else {}
    return _write(
        path, "mp4", H264_ENCODER, pan_frames(frames, size, seed, noise), fps, size,
        codec_options=codec_options, container_options=options,
    )  # fmt: skip


def write_avi_mjpg(
    path: str | Path,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = (640, 480),
    *,
    seed: int = 0,
    pts: Sequence[int] | None = None,
) -> Path:
    """Motion-JPEG in AVI (AVI stores one frame slot per 1/fps: a pts gap becomes empty slots,
    which the header counts as frames)."""
    return _write(path, "avi", "mjpeg", pan_frames(frames, size, seed), fps, size, pts)


def write_mkv(
    path: str | Path,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = (640, 480),
    *,
    seed: int = 0,
) -> Path:
    """H.264 in Matroska (millisecond timestamps; no declared frame count)."""
    return _write(path, "matroska", H264_ENCODER, pan_frames(frames, size, seed), fps, size)


def write_with_missing_timestamps(
    path: str | Path,
    gap_at: int = 20,
    gap_frames: int = 9,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = SMALL,
    *,
    seed: int = 0,
) -> Path:
    """H.264 MP4 whose frames from `gap_at` on are stamped `gap_frames` frame slots later:
    the camera dropped `gap_frames` frames before decoded frame `gap_at`."""
    pts = [i if i < gap_at else i + gap_frames for i in range(frames)]
    return _write(path, "mp4", H264_ENCODER, pan_frames(frames, size, seed), fps, size, pts)


def write_non_monotonic(
    path: str | Path,
    swap_at: int = 30,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = SMALL,
    *,
    seed: int = 0,
) -> Path:
    """Motion-JPEG in Matroska whose frames `swap_at` and `swap_at + 1` carry each other's pts:
    decoded frame `swap_at + 1` is stamped before the frame decoded ahead of it.

    Muxers refuse decreasing dts, but Matroska stores only pts: with dts = i and pts = i + 1
    (pts >= dts holds, even for the swapped pair), an intra-only codec decodes the packets in
    file order with the swapped timestamps. H.264 cannot carry this: its decoder reorders
    frames by their picture order count.
    """

    def retime(i: int) -> tuple[int, int]:
        shown = {swap_at: swap_at + 1, swap_at + 1: swap_at}.get(i, i)
        return shown + 1, i

    return _write(
        path, "matroska", "mjpeg", pan_frames(frames, size, seed), fps, size, retime=retime
    )


def truncate(source: str | Path, target: str | Path, keep: float = 0.6) -> Path:
    """Copy the first `keep` fraction of `source`'s bytes to `target`."""
    data = Path(source).read_bytes()
    target = Path(target)
    target.write_bytes(data[: int(len(data) * keep)])
    return target


def write_truncated_mp4(
    path: str | Path,
    index_at: str = "front",
    keep: float = 0.6,
    frames: int = 60,
    size: tuple[int, int] = SMALL,
) -> Path:
    """An H.264 MP4 cut after `keep` of its bytes, its index (moov) at the 'front' (faststart:
    the first part still decodes) or at the 'end' (the index is lost: unreadable)."""
    if index_at not in ("front", "end"):
        raise ValueError("index_at must be 'front' or 'end'")
    path = Path(path)
    whole = path.with_name(path.name + ".whole")
    write_mp4(whole, frames, size=size, faststart=index_at == "front")
    truncate(whole, path, keep)
    whole.unlink()
    return path


def write_truncated_mkv(
    path: str | Path, keep: float = 0.6, frames: int = 60, size: tuple[int, int] = SMALL
) -> Path:
    """A Matroska file cut after `keep` of its bytes: it opens and its first part decodes, with
    no error from the decoder at all; only the declared duration tells."""
    path = Path(path)
    whole = path.with_name(path.name + ".whole")
    write_mkv(whole, frames, size=size)
    truncate(whole, path, keep)
    whole.unlink()
    return path


def write_broken_index_mp4(
    path: str | Path, frames: int = 60, size: tuple[int, int] = SMALL
) -> Path:
    """Faststart H.264 MP4 whose sample-size table (stsz) says packet 49 holds ~1 GB: the
    demuxer fails there ("Cannot allocate memory") with the decoder mid-stream. Found by
    fuzzing: freeing a decoder in that state once deadlocked (see lakehouse.video.extract)."""
    path = write_mp4(path, frames, size=size, faststart=True)
    data = bytearray(path.read_bytes())
    stsz = data.index(b"stsz") - 4  # box size, 'stsz', version+flags, sample size, count
    data[stsz + 215 : stsz + 223] = bytes.fromhex("cc3aa742837726a8")
    path.write_bytes(bytes(data))
    return path


def write_damaged_avi(
    path: str | Path, frame: int = 30, frames: int = 60, size: tuple[int, int] = SMALL
) -> Path:
    """Motion-JPEG AVI whose frame `frame` has 64 bytes of its JPEG data overwritten: the
    MJPEG decoder fails on that frame and decodes the others (a mid-stream decode error)."""
    path = write_avi_mjpg(path, frames, size=size)
    _damage(path, frame)
    return path


def write_damaged_mp4(path: str | Path, frames: int = 60, size: tuple[int, int] = SMALL) -> Path:
    """H.264 MP4 with 64 bytes overwritten inside the largest packet of its middle third: the
    decoder conceals the damage, returns every frame, and only logs the error."""
    path = write_mp4(path, frames, size=size)
    with av.open(str(path)) as container:
        sizes = [p.size for p in container.demux(video=0) if p.size]
    third = len(sizes) // 3
    packet = max(range(third, 2 * third), key=lambda i: sizes[i])
    _damage(path, packet)
    return path


def _damage(path: Path, packet_index: int, seed: int = 0) -> None:
    """Overwrite 64 bytes at a quarter of packet `packet_index`'s payload with random bytes."""
    with av.open(str(path)) as container:
        spans = [(p.pos or 0, p.size) for p in container.demux(video=0) if p.size]
    pos, size = spans[packet_index]
    data = bytearray(path.read_bytes())
    start = pos + size // 4
    n = min(64, size // 2)
    data[start : start + n] = np.random.default_rng(seed).integers(0, 255, n, np.uint8).tobytes()
    path.write_bytes(bytes(data))


def write_audio_only(path: str | Path, seconds: float = 1.0) -> Path:
    """Matroska with a single PCM audio stream (a 440 Hz tone): no video stream."""
    path = Path(path)
    rate = 8000
    with av.open(str(path), "w", format="matroska", options=_BITEXACT) as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = "mono"
        t = np.arange(int(seconds * rate)) / rate
        samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        for start in range(0, len(samples), 1024):
            chunk = samples[start : start + 1024].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def write_empty(path: str | Path) -> Path:
    """Zero bytes."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def write_not_a_video(path: str | Path) -> Path:
    """A text file named like a video."""
    path = Path(path)
    path.write_bytes(b"camera 3 was unplugged at 14:02, no footage after that\n" * 4)
    return path


@dataclass(frozen=True)
class VideoCase:
    """One sample video kind and its verdict under the default VideoPolicy."""

    name: str
    filename: str
    write: Callable[[Path], Path]
    category: str | None
    reasons: tuple[str, ...]


VIDEO_CASES: tuple[VideoCase, ...] = (
    VideoCase("mp4", "pan.mp4", lambda p: write_mp4(p, size=SMALL), None, ()),
    VideoCase("mp4_faststart", "pan_fs.mp4", lambda p: write_mp4(p, size=SMALL, faststart=True),
              None, ()),
    VideoCase("avi_mjpg", "pan.avi", lambda p: write_avi_mjpg(p, size=SMALL), None, ()),
    VideoCase("mkv", "pan.mkv", lambda p: write_mkv(p, size=SMALL), None, ()),
    VideoCase("missing_timestamps", "gap.mp4", write_with_missing_timestamps, "policy",
              ("dropped_frames",)),
    VideoCase("avi_missing_timestamps", "gap.avi",
              lambda p: write_avi_mjpg(p, size=SMALL, pts=[i + 9 * (i >= 20) for i in range(60)]),
              "policy", ("dropped_frames", "frame_count_mismatch")),
    VideoCase("non_monotonic", "swap.mkv", write_non_monotonic, "policy", ("non_monotonic_pts",)),
    VideoCase("truncated_index_front", "cut_fs.mp4", write_truncated_mp4, "corrupt",
              ("truncated_stream",)),
    VideoCase("truncated_index_end", "cut.mp4", lambda p: write_truncated_mp4(p, "end"),
              "corrupt", ("unreadable_container",)),
    VideoCase("truncated_mkv", "cut.mkv", write_truncated_mkv, "corrupt", ("truncated_stream",)),
    VideoCase("broken_index", "bad_stsz.mp4", write_broken_index_mp4, "corrupt",
              ("truncated_stream",)),
    VideoCase("damaged_avi", "damaged.avi", write_damaged_avi, "corrupt",
              ("decode_error_mid_stream",)),
    VideoCase("damaged_mp4", "damaged.mp4", write_damaged_mp4, "corrupt",
              ("decode_error_mid_stream",)),
    VideoCase("audio_only", "tone.mkv", write_audio_only, "corrupt", ("no_video_stream",)),
    VideoCase("empty", "empty.mp4", write_empty, "corrupt", ("empty_file",)),
    VideoCase("not_a_video", "notes.mp4", write_not_a_video, "corrupt", ("unreadable_container",)),
)  # fmt: skip


def write_video_drop(root: str | Path) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Write every `VIDEO_CASES` file under `root/videos/` (about a second); return the
    expected (category, reasons) under the default VideoPolicy per relative posix path."""
    folder = Path(root) / "videos"
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for case in VIDEO_CASES:
        case.write(folder / case.filename)
        expected[f"videos/{case.filename}"] = (case.category, case.reasons)
    return expected
