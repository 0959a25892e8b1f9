"""Video frame extraction throughput against plain PyAV decoding, in one process.

    python tests/bench/bench_video.py [--frames 300] [--rounds 5] [--variants] [--rss] [--json PATH]

A 640x480 H.264 MP4 (`lakehouse.samples_video.write_mp4`: a camera pan over a bundled photo
with Gaussian sensor noise `--noise` 2.0, x264 CRF `--crf` 18: ~1.2 Mbit/s, ~5 KB a frame, like
480p camera footage; cached under `--workdir`) is decoded by every pipeline in `PIPELINES`, in
interleaved rounds (the best round of each counts, as the machine is shared). Besides frames/s
by wall clock, CPU ms per frame (process time, all threads) is printed: it barely depends on the
machine's load, and bounds what an idle machine can reach.
The baseline is plain PyAV decoding to numpy (`frame.to_ndarray(format="bgr24")`, PyAV's default
decoder threading). Targets: frames/s of the whole `lakehouse ingest` of the video (Ray task,
frame batches committed to Iceberg, publish; into a fresh dataset made beforehand, on a warm
local Ray) / baseline frames/s >= 0.6 with PNG frames and >= 0.8 with JPEG frames (quality
90). `process_video` alone (no Ray, no storage) is measured too, without a target. The CPU
column of the ingest rows counts the driver process only (the decoding runs in a Ray worker).

`--rss` also ingests a 300-frame and a 1,800-frame clip (PNG frames, ~0.2 and ~1 GB stored),
each in a fresh process, and compares the driver's peak RSS: target <= 1.3 (memory does not
follow the video's length).

To measure another pipeline (the full ingest, say), add a function `(path) -> frames` to
`PIPELINES` and, if it has a goal, a line to `TARGETS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_WORKDIR, Target, print_table, report

from lakehouse.samples_video import H264_ENCODER, write_mp4
from lakehouse.video import PNG_DEFLATE, VideoPolicy, process_video

SIZE = (640, 480)
RSS_FRAMES = (300, 1800)  # a 10 s and a 60 s clip: memory must not follow the length


def decode_baseline(path: Path, thread_type: str | None = None) -> int:
    """Plain PyAV: decode every frame to a BGR numpy array, nothing else."""
    n = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if thread_type:
            stream.thread_type = thread_type
        for frame in container.decode(stream):
            frame.to_ndarray(format="bgr24")
            n += 1
    return n


def extract(
    path: Path, encoding: str, threads: int | None = None, thread_type: str = "SLICE"
) -> int:
    """`process_video` with every frame kept and encoded as `encoding`; batches are dropped."""
    policy = VideoPolicy(frame_encoding=encoding)
    result = process_video(
        str(path), policy, lambda batch: None, 32, threads=threads, thread_type=thread_type
    )
    if result.category is not None or result.frames_emitted != result.frames_decoded:
        raise RuntimeError(f"bench video refused: {result.category} {result.detail}")
    return result.frames_emitted


class Ingest:
    """`Lakehouse.ingest` of the video's folder into a new dataset per run (made beforehand:
    creating seven tables is not per-video work), every frame kept as `encoding`."""

    def __init__(self, workdir: Path, encoding: str) -> None:
        from lakehouse import Lakehouse, Settings
        from lakehouse.raykit import ensure_ray

        policy = workdir / f"video-{encoding.replace(':', '-')}.toml"
        text = (Path(__file__).parents[2] / "quality/policies/default.toml").read_text()
        policy.write_text(text.replace('frame_encoding = "png"', f'frame_encoding = "{encoding}"'))
        settings = Settings.embedded(tempfile.mkdtemp(prefix="bench-video-", dir=workdir))
        settings = dataclasses.replace(
            settings, ingest=dataclasses.replace(settings.ingest, policy=str(policy))
        )
        ensure_ray(settings.ray)
        self.lake, self.runs = Lakehouse(settings), itertools.count()
        self.empty = Path(tempfile.mkdtemp(prefix="empty-", dir=workdir))

    def __call__(self, path: Path) -> int:
        dataset = f"v{next(self.runs)}"
        self.lake.ingest([self.empty], dataset)  # the dataset's tables, not timed
        started = time.perf_counter()
        report = self.lake.ingest([path.parent], dataset)
        self.seconds = time.perf_counter() - started
        if report.counts["added"] != 1:
            raise RuntimeError(f"bench video not ingested: {report.to_dict()}")
        return self.lake.sql("SELECT count(*) FROM assets", dataset).item()


def pipelines(workdir: Path) -> dict[str, Callable[[Path], int]]:
    """name -> (path) -> frames processed; the first is the baseline of every ratio."""
    return {
        "pyav decode -> bgr24 (baseline)": decode_baseline,
        "ingest png": Ingest(workdir, "png"),
        "ingest jpeg:q90": Ingest(workdir, "jpeg:q90"),
        "process_video png": lambda p: extract(p, "png"),
        "process_video jpeg:q90": lambda p: extract(p, "jpeg:q90"),
    }


# Variants measured with --variants (decoder threading, encoder threads): printed, no target.
VARIANTS: dict[str, Callable[[Path], int]] = {
    "pyav decode, thread_type AUTO": lambda p: decode_baseline(p, "AUTO"),
    "pyav decode, thread_type NONE": lambda p: decode_baseline(p, "NONE"),
    "process_video png, 1 encoder thread": lambda p: extract(p, "png", threads=1),
    "process_video png, 3 encoder threads": lambda p: extract(p, "png", threads=3),
    "process_video png, decoder SLICE": lambda p: extract(p, "png", thread_type="SLICE"),
    "process_video jpeg:q90, 1 encoder thread": lambda p: extract(p, "jpeg:q90", threads=1),
    "process_video jpeg:q90, decoder SLICE": lambda p: extract(p, "jpeg:q90", thread_type="SLICE"),
    "process_video jpeg:q90, 1 thread, decoder NONE": lambda p: extract(
        p, "jpeg:q90", threads=1, thread_type="NONE"
    ),
}
# (name, pipeline, goal): frames/s of pipeline / frames/s of the baseline >= goal
TARGETS: list[tuple[str, str, float]] = [
    ("ingest png frames/s / pyav decode frames/s", "ingest png", 0.6),
    ("ingest jpeg frames/s / pyav decode frames/s", "ingest jpeg:q90", 0.8),
]


def encoder_costs(path: Path, n: int = 40) -> list[tuple[str, float, float]]:
    """(encoder, CPU ms per frame, KB per frame) of single-threaded encoders on decoded frames."""
    import zlib

    import cv2
    import simplejpeg

    from lakehouse.video.encode import encode_png

    with av.open(str(path)) as container:
        decoded = itertools.islice(container.decode(video=0), n)
        rgb = [f.to_ndarray(format="rgb24") for f in decoded]
    bgr = [np.ascontiguousarray(a[:, :, ::-1]) for a in rgb]
    encoders: dict[str, tuple[Callable[[np.ndarray], bytes], list[np.ndarray]]] = {
        "cv2 PNG level 3 (OpenCV default)": (lambda a: _cv2_png(a, 3), bgr),
        "cv2 PNG level 1": (lambda a: _cv2_png(a, 1), bgr),
        "lakehouse PNG, zlib level 1": (lambda a: encode_png(a, zlib.compress), rgb),
        "cv2 JPEG q90": (
            lambda a: cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(),
            bgr,
        ),
        "simplejpeg JPEG q90 (lakehouse)": (
            lambda a: simplejpeg.encode_jpeg(a, 90, colorspace="RGB", colorsubsampling="420"),
            rgb,
        ),
    }
    try:
        from isal import isal_zlib

        encoders["lakehouse PNG, isal level 1"] = (lambda a: encode_png(a, isal_zlib.compress), rgb)
    except ImportError:
        pass
    rows: list[tuple[str, float, float]] = []
    for name, (encode, arrays) in encoders.items():
        started = time.process_time()
        size = sum(len(encode(a)) for a in arrays)
        rows.append((name, (time.process_time() - started) * 1000 / n, size / n / 1000))
    return rows


def _cv2_png(bgr: np.ndarray, level: int) -> bytes:
    import cv2

    return cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, level])[1].tobytes()


def bench_video(workdir: Path, frames: int, noise: float, crf: int) -> Path:
    """The cached 640x480 benchmark video (v2: x264 without macroblock tree), alone in its
    folder (the ingest pipelines ingest the folder)."""
    name = f"pan_v2_{SIZE[0]}x{SIZE[1]}_{frames}f_noise{noise:g}_crf{crf}.mp4"
    path = workdir / "video" / name.removesuffix(".mp4") / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        partial = path.with_suffix(".part.mp4")
        write_mp4(partial, frames, 30, SIZE, noise=noise, crf=crf)
        partial.replace(path)
    return path


def measure(
    pipelines: dict[str, Callable[[Path], int]], path: Path, rounds: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Best frames/s and best CPU ms/frame of each pipeline over `rounds` interleaved rounds
    (after one warm-up run each). A pipeline with a `seconds` attribute times itself."""
    best = dict.fromkeys(pipelines, 0.0)
    cpu = dict.fromkeys(pipelines, float("inf"))
    for run in pipelines.values():
        run(path)  # warm-up: imports, page cache, thread pools
    for _ in range(rounds):
        for name, run in pipelines.items():
            started, cpu_started = time.perf_counter(), time.process_time()
            n = run(path)
            seconds = getattr(run, "seconds", None) or time.perf_counter() - started
            best[name] = max(best[name], n / seconds)
            cpu[name] = min(cpu[name], (time.process_time() - cpu_started) * 1000 / n)
    return best, cpu


def rss_child(path: Path, workdir: Path) -> int:
    """Ingest the video at `path` (PNG frames) into a fresh home; print one JSON line of peaks."""
    from bench_ingest import MemoryPoller

    from lakehouse import Lakehouse, Settings
    from lakehouse.raykit import ensure_ray

    with tempfile.TemporaryDirectory(dir=workdir, prefix="home-") as home:
        lake = Lakehouse(Settings.embedded(home))
        ensure_ray(lake.settings.ray)
        with MemoryPoller() as memory:
            report = lake.ingest([path.parent], "bench")
        frames = lake.sql("SELECT count(*) FROM assets", "bench").item()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    result = {
        "frames": frames,
        "frame_bytes": report.bytes_added,
        "driver_peak": peak,
        "driver_private_peak": memory.driver_private,
        "workers_peak_total": memory.workers_total,
    }
    print(json.dumps(result))
    return 0


def measure_rss(workdir: Path, sizes: tuple[int, int], noise: float, crf: int) -> list[dict]:
    """Driver and worker peaks ingesting the short and the long video, each in a fresh process."""
    runs = []
    for frames in sizes:
        path = bench_video(workdir, frames, noise, crf)
        command = [sys.executable, __file__, "--rss-child", str(path), "--workdir", str(workdir)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"rss child for {path.name} failed:\n{done.stderr[-4000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print()
    print_table(
        ["frames", "frame MB stored", "driver peak MB", "driver private MB", "workers peak MB"],
        [
            (
                r["frames"],
                r["frame_bytes"] / 1e6,
                r["driver_peak"] / 1e6,
                r["driver_private_peak"] / 1e6,
                r["workers_peak_total"] / 1e6,
            )
            for r in runs
        ],
    )
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--noise", type=float, default=2.0)
    parser.add_argument("--crf", type=int, default=18)
    parser.add_argument("--variants", action="store_true", help="also measure VARIANTS")
    parser.add_argument("--encoders", action="store_true", help="also time single encoders")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--rss", action="store_true", help="also compare peak RSS ingesting 300 vs 1800 frames"
    )
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        return rss_child(args.rss_child, args.workdir)

    path = bench_video(args.workdir, args.frames, args.noise, args.crf)
    print(
        f"video: {path.name}, {path.stat().st_size / 1e6:.2f} MB, encoder {H264_ENCODER}; "
        f"PNG deflate backend: {PNG_DEFLATE}; load average {_loadavg()}"
    )
    # the ingest pipelines' homes (frames stored: ~0.4 GB a run) go when the run ends
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-video-run-") as scratch:
        measured = {**pipelines(Path(scratch)), **(VARIANTS if args.variants else {})}
        rates, cpu = measure(measured, path, args.rounds)
    baseline = next(iter(measured))
    print()
    busy = cpu[baseline] * rates[baseline] / 1000  # cores the baseline kept busy
    print_table(
        ["pipeline", "frames/s", "x baseline", "CPU ms/frame", "baseline CPU / CPU"],
        [
            (name, rate, rate / rates[baseline], cpu[name], cpu[baseline] / cpu[name])
            for name, rate in rates.items()
        ],
    )
    cores = len(os.sched_getaffinity(0))
    print(
        f"the baseline kept {busy:.2f} cores busy: on an idle {cores}-core machine a pipeline's "
        f"x baseline cannot exceed {cores}/{busy:.2f} x its baseline CPU / CPU (CPU per frame "
        "barely depends on load; frames/s does)"
    )
    print(f"load average after the runs: {_loadavg()}")
    encoders = encoder_costs(path) if args.encoders else []
    if encoders:
        print()
        print_table(["encoder (1 thread, 640x480 RGB)", "CPU ms/frame", "KB/frame"], encoders)
    targets = [Target(name, rates[p] / rates[baseline], ">=", goal) for name, p, goal in TARGETS]
    rss = measure_rss(args.workdir, RSS_FRAMES, args.noise, args.crf) if args.rss else []
    if rss:
        ratio = rss[1]["driver_peak"] / rss[0]["driver_peak"]
        targets.append(
            Target(f"driver peak RSS {RSS_FRAMES[1]} / {RSS_FRAMES[0]} frames", ratio, "<=", 1.3)
        )
    measurements = {
        "frames": args.frames,
        "noise": args.noise,
        "crf": args.crf,
        "cpu_ms_per_frame": {name: round(ms, 3) for name, ms in cpu.items()},
        "load_average": _loadavg(),
        "encoders_cpu_ms_kb": {name: [round(ms, 3), round(kb, 1)] for name, ms, kb in encoders},
        "video_bytes": path.stat().st_size,
        "png_deflate": PNG_DEFLATE,
        "frames_per_s": {name: round(rate, 1) for name, rate in rates.items()},
        "rss": rss,
    }
    return report("video", targets, measurements, args.json)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
