"""Ingest throughput, re-ingest cost and memory bound, each as a ratio measured in this run.

1. ingest images/s over single-process `cv2.imdecode` images/s on the same files, in
   `--rounds` interleaved rounds (baseline, ingest into a new dataset, ..., baseline); the
   best of each side counts                                         target >= 1.5
2. re-ingest of the same tree (same dataset again) over the best first ingest's time
                                                                    target <= 0.15
3. peak RSS of the driver ingesting `--n-rss-large` over `--n-rss-small` images, each in a
   fresh subprocess (`--rss-child N`); Ray workers' peaks are printed too   target <= 1.3

Ray start-up is not counted: Ray is started first and a 50-image warm-up ingest into another
dataset warms its workers, as on a long-running cluster; the benchmark dataset is created
(an ingest of an empty folder: its seven tables) before the timed ingest, which then measures
a drop arriving into an existing dataset. See tests/bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
import ray
from _common import DEFAULT_WORKDIR, Target, dir_bytes, jpeg_dir, print_table, report, timed

from lakehouse import Lakehouse, Settings
from lakehouse.raykit import ensure_ray

WARMUP_FIRST_SEED, WARMUP_COUNT = 1_000_000, 50
INGEST_RATIO_MIN, REINGEST_RATIO_MAX, RSS_RATIO_MAX = 1.5, 0.15, 1.3
MB = 1024 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="images ingested (default 2000)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"cached images and scratch homes (default {DEFAULT_WORKDIR})",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS target")
    parser.add_argument("--n-rss-small", type=int, default=1000)
    parser.add_argument("--n-rss-large", type=int, default=10000)
    parser.add_argument("--json", type=Path, help="also write the final JSON line to this file")
    parser.add_argument("--rss-child", type=int, metavar="N", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- 1 and 2: throughput and re-ingest, side by side with the decode baseline -------------


def decode_rate(directory: Path) -> float:
    """Images/s of one process reading each file and decoding it with cv2.imdecode."""
    paths = sorted(directory.iterdir())

    def decode_all() -> None:
        for path in paths:
            image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise RuntimeError(f"cv2 could not decode {path}")

    seconds, _ = timed(decode_all)
    return len(paths) / seconds


def checked_ingest(
    lh: Lakehouse, directory: Path, dataset: str, outcome: str, rehash: bool = False
) -> float:
    """Wall seconds of `lh.ingest`; every file must get `outcome`."""
    expected = len(list(directory.iterdir()))
    seconds, result = timed(lambda: lh.ingest([directory], dataset, rehash=rehash))
    if result.counts.get(outcome) != expected:
        raise RuntimeError(f"expected {expected} files {outcome!r}, got {result.counts}")
    return seconds


@dataclass(frozen=True)
class Throughput:
    decode_rates: list[float]  # images/s of each baseline run
    ingest_times: list[float]  # seconds of each first ingest (one new dataset per round)
    reingest_s: float
    rehash_s: float
    n: int

    @property
    def ingest_s(self) -> float:
        return min(self.ingest_times)

    @property
    def ingest_rate(self) -> float:
        return self.n / self.ingest_s

    @property
    def baseline_rate(self) -> float:
        return max(self.decode_rates)


def measure_throughput(workdir: Path, n: int, rounds: int) -> Throughput:
    """`rounds` interleaved rounds of baseline, ingest into a new dataset, baseline; the best
    of each side counts (the machine is shared). Then the re-ingests into the last dataset."""
    data, warmup = jpeg_dir(workdir, 0, n), jpeg_dir(workdir, WARMUP_FIRST_SEED, WARMUP_COUNT)
    decode_rates, ingest_times = [], []
    with tempfile.TemporaryDirectory(dir=workdir, prefix="home-") as home:
        lh = Lakehouse(Settings.embedded(home))
        ensure_ray(lh.settings.ray)
        checked_ingest(lh, warmup, "warmup", "added")
        empty = Path(tempfile.mkdtemp(dir=home))
        for index in range(rounds):
            dataset = f"bench{index}"
            lh.ingest([empty], dataset)  # the dataset exists, as `street` does for its Nth drop
            decode_rates.append(decode_rate(data))
            # rehash: every file read and hashed, as files never seen before are (the digest
            # cache knows them after the first round)
            ingest_times.append(checked_ingest(lh, data, dataset, "added", rehash=True))
        decode_rates.append(decode_rate(data))
        again = checked_ingest(lh, data, dataset, "already_present")
        rehashed = checked_ingest(lh, data, dataset, "already_present", rehash=True)
    ray.shutdown()  # the RSS children start their own
    return Throughput(decode_rates, ingest_times, again, rehashed, n)


def print_throughput(result: Throughput, data_bytes: int) -> None:
    print(
        f"\n{result.n} JPEGs, {data_bytes / MB:.1f} MB ({data_bytes / result.n / 1024:.0f} KB mean)"
    )
    print_table(
        ["run", "seconds", "images/s"],
        [
            *(("cv2.imdecode", result.n / rate, rate) for rate in result.decode_rates),
            *(("lh.ingest (first, new dataset)", s, result.n / s) for s in result.ingest_times),
            ("lh.ingest (same tree again)", result.reingest_s, result.n / result.reingest_s),
            ("lh.ingest --rehash (again)", result.rehash_s, result.n / result.rehash_s),
        ],
    )
    print(
        f"re-ingest reading and hashing every file (--rehash) / first ingest time: "
        f"{result.rehash_s / result.ingest_s:.3f} (no target)"
    )


# --- 3: peak RSS, one fresh subprocess per size --------------------------------------------


class MemoryPoller:
    """Polls Ray workers' RSS (children of this process's raylet) and this process's private
    RSS (RSS minus shared pages: the object-store pages a driver reads count in its RSS)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.workers_total = self.worker_single = self.driver_private = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemoryPoller:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        own = psutil.Process().memory_info()
        self.driver_private = max(self.driver_private, own.rss - own.shared)
        sizes = []
        for worker in _ray_workers():
            try:
                sizes.append(worker.memory_info().rss)
            except psutil.Error:  # exited between listing and reading
                continue
        self.workers_total = max(self.workers_total, sum(sizes))
        self.worker_single = max(self.worker_single, *sizes, 0)


def _ray_workers() -> list[psutil.Process]:
    raylets = [p for p in psutil.Process().children() if p.name() == "raylet"]
    return [
        p
        for raylet in raylets
        for p in raylet.children()
        if p.name().startswith("ray::") and not p.name().endswith("Agent")
    ]


def rss_child(n: int, workdir: Path) -> int:
    """Ingest n images into a fresh home; print one JSON line with the peaks in bytes."""
    data = jpeg_dir(workdir, 0, n)
    with tempfile.TemporaryDirectory(dir=workdir, prefix="home-") as home:
        lh = Lakehouse(Settings.embedded(home))
        ensure_ray(lh.settings.ray)
        with MemoryPoller() as memory:
            seconds = checked_ingest(lh, data, "bench", "added")
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "n": n,
                "seconds": seconds,
                "driver_peak": driver,
                "driver_private_peak": memory.driver_private,
                "workers_peak_total": memory.workers_total,
                "worker_peak_single": memory.worker_single,
            }
        )
    )
    return 0


def run_rss_child(n: int, workdir: Path) -> dict[str, Any]:
    jpeg_dir(workdir, 0, n)  # generate in this process, so the child's peak is ingest only
    command = [sys.executable, __file__, "--rss-child", str(n), "--workdir", str(workdir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rss child for {n} images failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_rss(runs: list[dict[str, Any]]) -> None:
    print()
    print_table(
        [
            "images",
            "driver peak MB",
            "driver private MB",
            "workers peak MB (sum)",
            "one worker peak MB",
            "ingest s",
            "images/s",
        ],
        [
            (
                r["n"],
                r["driver_peak"] / MB,
                r["driver_private_peak"] / MB,
                r["workers_peak_total"] / MB,
                r["worker_peak_single"] / MB,
                r["seconds"],
                r["n"] / r["seconds"],
            )
            for r in runs
        ],
    )


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.rss_child:
        return rss_child(args.rss_child, args.workdir)
    if not args.skip_rss:  # generate every image set before anything is timed
        jpeg_dir(args.workdir, 0, max(args.n_rss_small, args.n_rss_large))
    throughput = measure_throughput(args.workdir, args.n, args.rounds)
    print_throughput(throughput, dir_bytes(jpeg_dir(args.workdir, 0, args.n)))
    targets = [
        Target(
            "ingest images/s / cv2.imdecode images/s",
            throughput.ingest_rate / throughput.baseline_rate,
            ">=",
            INGEST_RATIO_MIN,
        ),
        Target(
            "re-ingest time / first ingest time",
            throughput.reingest_s / throughput.ingest_s,
            "<=",
            REINGEST_RATIO_MAX,
        ),
    ]
    measurements: dict[str, Any] = {"throughput": asdict(throughput)}
    if not args.skip_rss:
        runs = [run_rss_child(n, args.workdir) for n in (args.n_rss_small, args.n_rss_large)]
        print_rss(runs)
        targets.append(
            Target(
                f"driver peak RSS {args.n_rss_large} / {args.n_rss_small} images",
                runs[1]["driver_peak"] / runs[0]["driver_peak"],
                "<=",
                RSS_RATIO_MAX,
            )
        )
        measurements["rss"] = runs
    return report("ingest", targets, measurements, args.json)


if __name__ == "__main__":
    sys.exit(main())
