"""Video frame extraction throughput against plain PyAV decoding, in one process.

    python tests/bench/bench_video.py [--frames 300] [--rounds 5] [--noise 2.0] [--json PATH]

A 640x480 H.264 MP4 (`lakehouse.samples_video.write_mp4`: a camera pan over a bundled photo
with Gaussian sensor noise of `--noise`, cached under `--workdir`) is decoded by every pipeline
in `PIPELINES`, in interleaved rounds (the best round of each counts, as the machine is shared).
The baseline is plain PyAV decoding to numpy (`frame.to_ndarray(format="bgr24")`, PyAV's default
decoder threading). Targets: frames/s of `process_video` / baseline frames/s >= 0.6 with PNG
frames and >= 0.8 with JPEG frames (quality 90).

To measure another pipeline (the full ingest, say), add a function `(path) -> frames` to
`PIPELINES` and, if it has a goal, a line to `TARGETS`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av

sys.path.insert(0, str(Path(__file__).parent))
from _common import DEFAULT_WORKDIR, Target, print_table, report  # noqa: E402

from lakehouse.samples_video import H264_ENCODER, write_mp4  # noqa: E402
from lakehouse.video import PNG_DEFLATE, VideoPolicy, process_video  # noqa: E402

SIZE = (640, 480)


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


# name -> (path) -> frames processed; the first is the baseline of every ratio
PIPELINES: dict[str, Callable[[Path], int]] = {
    "pyav decode -> bgr24 (baseline)": decode_baseline,
    "process_video png": lambda p: extract(p, "png"),
    "process_video jpeg:q90": lambda p: extract(p, "jpeg:q90"),
}
# Variants measured with --variants (decoder threading, encoder threads): printed, no target.
VARIANTS: dict[str, Callable[[Path], int]] = {
    "pyav decode, thread_type AUTO": lambda p: decode_baseline(p, "AUTO"),
    "pyav decode, thread_type NONE": lambda p: decode_baseline(p, "NONE"),
    "process_video png, 1 encoder thread": lambda p: extract(p, "png", threads=1),
    "process_video png, 3 encoder threads": lambda p: extract(p, "png", threads=3),
    "process_video png, decoder AUTO": lambda p: extract(p, "png", thread_type="AUTO"),
    "process_video jpeg:q90, 1 encoder thread": lambda p: extract(p, "jpeg:q90", threads=1),
    "process_video jpeg:q90, decoder AUTO": lambda p: extract(p, "jpeg:q90", thread_type="AUTO"),
}
# (name, pipeline, goal): frames/s of pipeline / frames/s of the baseline >= goal
TARGETS: list[tuple[str, str, float]] = [
    ("png frames/s / pyav decode frames/s", "process_video png", 0.6),
    ("jpeg frames/s / pyav decode frames/s", "process_video jpeg:q90", 0.8),
]


def bench_video(workdir: Path, frames: int, noise: float) -> Path:
    """The cached 640x480 benchmark video."""
    path = workdir / "video" / f"pan_{SIZE[0]}x{SIZE[1]}_{frames}f_noise{noise:g}.mp4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        partial = path.with_suffix(".part.mp4")
        write_mp4(partial, frames, 30, SIZE, noise=noise)
        partial.replace(path)
    return path


def measure(
    pipelines: dict[str, Callable[[Path], int]], path: Path, rounds: int
) -> dict[str, float]:
    """Best frames/s of each pipeline over `rounds` interleaved rounds (after a warm-up)."""
    best = dict.fromkeys(pipelines, 0.0)
    for name, run in pipelines.items():
        run(path)  # warm-up: imports, page cache, thread pools
    for _ in range(rounds):
        for name, run in pipelines.items():
            started = time.perf_counter()
            n = run(path)
            best[name] = max(best[name], n / (time.perf_counter() - started))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--noise", type=float, default=2.0)
    parser.add_argument("--variants", action="store_true", help="also measure VARIANTS")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    path = bench_video(args.workdir, args.frames, args.noise)
    print(
        f"video: {path.name}, {path.stat().st_size / 1e6:.2f} MB, encoder {H264_ENCODER}; "
        f"PNG deflate backend: {PNG_DEFLATE}; load average {_loadavg()}"
    )
    pipelines = {**PIPELINES, **(VARIANTS if args.variants else {})}
    rates = measure(pipelines, path, args.rounds)
    baseline = next(iter(PIPELINES))
    print()
    print_table(
        ["pipeline", "frames/s", "x baseline"],
        [(name, rate, rate / rates[baseline]) for name, rate in rates.items()],
    )
    targets = [Target(name, rates[p] / rates[baseline], ">=", goal) for name, p, goal in TARGETS]
    measurements = {
        "frames": args.frames,
        "noise": args.noise,
        "video_bytes": path.stat().st_size,
        "png_deflate": PNG_DEFLATE,
        "frames_per_s": {name: round(rate, 1) for name, rate in rates.items()},
    }
    return report("video", targets, measurements, args.json)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
