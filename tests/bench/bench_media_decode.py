"""Integrity-decode throughput on distinct 640x480 JPEGs, single process.

    python tests/bench/bench_media_decode.py [--n 200] [--repeat 3]

Compares decode_verified (reduced and full) with plain cv2.imdecode, and times the whole
inspect_image verdict. Prints images/s by wall clock and by process CPU time (OpenCV may use
more than one thread).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lakehouse.media.decode import decode_verified
from lakehouse.media.inspect import inspect_image
from lakehouse.media.probe import probe
from lakehouse.policy import load_policy
from lakehouse.samples import make_jpeg

POLICY = Path(__file__).parents[2] / "quality/policies/default.toml"


def rate(images: list[bytes], work: Callable[[bytes], object], repeat: int) -> tuple[float, float]:
    """Best-of-`repeat` images/s by wall clock and by CPU time."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        for data in images:
            work(data)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return len(images) / best_wall, len(images) / best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    images = [make_jpeg(seed) for seed in range(args.n)]
    headers = {id(d): probe(d, "jpeg") for d in images}
    policy = load_policy(POLICY).image
    cases: dict[str, Callable[[bytes], object]] = {
        "probe (header only)": lambda d: probe(d, "jpeg"),
        "decode_verified reduced=True": lambda d: decode_verified(d, headers[id(d)]),
        "decode_verified reduced=False": lambda d: decode_verified(
            d, headers[id(d)], reduced=False
        ),
        "cv2.imdecode IMREAD_COLOR": lambda d: cv2.imdecode(
            np.frombuffer(d, np.uint8), cv2.IMREAD_COLOR
        ),
        "cv2.imdecode IMREAD_REDUCED_GRAYSCALE_8": lambda d: cv2.imdecode(
            np.frombuffer(d, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8
        ),
        "inspect_image (probe+policy+decode+phash)": lambda d: inspect_image(d, "x.jpg", policy),
    }
    mean_kb = sum(map(len, images)) / len(images) / 1024
    print(f"{len(images)} distinct 640x480 JPEGs, mean {mean_kb:.0f} KB, cv2 threads "
          f"{cv2.getNumThreads()}")  # fmt: skip
    for name, work in cases.items():
        wall, cpu = rate(images, work, args.repeat)
        print(f"{name:45s} {wall:9.0f} img/s wall  {cpu:9.0f} img/s cpu")


if __name__ == "__main__":
    main()
