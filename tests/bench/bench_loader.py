"""Training loader throughput and memory, side by side with the usual ways of loading images.

`--n` (2,000) distinct 640x480 JPEGs (`lakehouse.samples.make_jpeg`, cached under the workdir)
and the same images ingested into a lakehouse dataset (cached too, in `<workdir>/home`, as tag
`n<N>` of dataset `bench`). Every loader produces RGB uint8 224x224 images and is iterated to
the end; best of `--repeat` interleaved rounds after one warm-up round (Ray started, page cache
warm):

(a) lakehouse `ray_dataset(columns=["image"], decode="rgb", resize=(224, 224))` images/s over
    `ray.data.read_images(dir, mode="RGB", size=(224, 224))` images/s, both iterated with
    `iter_batches(batch_format="numpy")`                                        target >= 1.0
(b) the same over one process looping over the files: `cv2.imdecode` + `cv2.resize`
                                                                                target >= 1.6
(c) the same over iterating `to_hf_dataset(...)` with `with_format("numpy")` (the Image
    feature decoded to numpy by `datasets`) and `cv2.resize`                    target >= 2.0
(d) peak memory of a fresh subprocess streaming the `--n-rss-large` (20,000) images through
    the loader over one streaming `--n-rss-small` (2,000): the driver's peak RSS (VmHWM), and
    the peak of the Ray workers' summed private memory (USS, polled)        targets <= 1.3
    (the driver's USS and the workers' summed RSS are printed too: RSS also counts the shared
    object-store pages a process touched)

Resizing: the baselines of (b) and (c) decode at full size and area-average (INTER_AREA, the
right filter for a 2.9x reduction); `read_images` uses its `size` (Pillow, bilinear with
antialiasing). The loader lets libjpeg decode at half size (DCT scaling), then resizes
bilinearly (within 2x, no aliasing). The row `single_reduced` is one process doing exactly the
loader's decode, so the gains from decoding less and from running in parallel can be told
apart; `lakehouse_seeded` is the loader with `shuffle_seed=1` (information only).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
from _common import DEFAULT_WORKDIR, Target, jpeg_dir, print_table, report, timed

from lakehouse import Lakehouse, Settings
from lakehouse.raykit import ensure_ray
from lakehouse.training import ray_dataset, to_hf_dataset

SIZE = (224, 224)
MEMORY = ("driver_rss", "driver_uss", "workers_rss", "workers_uss")
REDUCED_RGB = cv2.IMREAD_REDUCED_GRAYSCALE_2 | cv2.IMREAD_COLOR_RGB  # the loader's decode here
TARGETS = {"read_images": 1.0, "single": 1.6, "huggingface": 2.0, "rss": 1.3}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds (best counts)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS target")
    parser.add_argument("--n-rss-small", type=int, default=2000)
    parser.add_argument("--n-rss-large", type=int, default=20000)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR / "loader",
        help=f"cached images and lakehouse (default {DEFAULT_WORKDIR}/loader)",
    )
    parser.add_argument("--json", type=Path, help="also write the final JSON line to this file")
    parser.add_argument("--rss-child", metavar="REF", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def prepare(workdir: Path, sizes: list[int]) -> Lakehouse:
    """The cached lakehouse holding tag `n<size>` of dataset `bench` for every size."""
    lake = Lakehouse(Settings.embedded(workdir / "home"))
    ensure_ray(lake.settings.ray)
    for size in sorted(sizes):
        if lake.control.ref("bench", f"n{size}") is not None:
            continue
        print(f"ingesting {size} images into {workdir / 'home'} (cached) ...", file=sys.stderr)
        done = lake.ingest([jpeg_dir(workdir, 0, size)], "bench")
        if lake.resolve("bench").properties["asset_count"] != size:
            raise RuntimeError(f"expected {size} assets in bench after ingest: {done.counts}")
        lake.tag_create("bench", f"n{size}")
    return lake


def lakehouse_loader(lake: Lakehouse, ref: str, batch_size: int, seed: int | None = None) -> int:
    ds = ray_dataset(
        "bench", ref=ref, lake=lake, columns=["image"], decode="rgb", resize=SIZE, shuffle_seed=seed
    )
    return sum(
        len(b["image"]) for b in ds.iter_batches(batch_size=batch_size, batch_format="numpy")
    )


def ray_read_images(directory: Path, batch_size: int) -> int:
    import ray.data

    ds = ray.data.read_images(str(directory), mode="RGB", size=SIZE)
    return sum(
        len(b["image"]) for b in ds.iter_batches(batch_size=batch_size, batch_format="numpy")
    )


def single_process(
    files: list[Path], flags: int = cv2.IMREAD_COLOR_RGB, interpolation: int = cv2.INTER_AREA
) -> int:
    for path in files:
        image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), flags)
        if image is None:
            raise RuntimeError(f"{path} does not decode")
        cv2.resize(image, SIZE, interpolation=interpolation)
    return len(files)


def huggingface(lake: Lakehouse, ref: str, batch_size: int) -> int:
    hf = to_hf_dataset("bench", ref=ref, lake=lake, columns=["image"]).with_format("numpy")
    count = 0
    for batch in hf.iter(batch_size=batch_size):
        for image in batch["image"]:
            cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA)
            count += 1
    return count


class Memory:
    """Polls this process and the Ray workers (children of its raylet): the peak of this
    process's USS, and the peaks of the workers' summed RSS and USS. USS is private memory;
    RSS also counts the object-store pages a process touched, which are shared."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.driver_uss, self.workers_rss, self.workers_uss = interval, 0, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss = uss = 0
            for raylet in (p for p in psutil.Process().children() if p.name() == "raylet"):
                for worker in raylet.children():
                    try:
                        if worker.name().startswith("ray::") and "Agent" not in worker.name():
                            memory = worker.memory_full_info()
                            rss, uss = rss + memory.rss, uss + memory.uss
                    except psutil.Error:  # exited between listing and reading
                        continue
            self.workers_rss, self.workers_uss = (
                max(self.workers_rss, rss),
                max(self.workers_uss, uss),
            )
            self.driver_uss = max(self.driver_uss, psutil.Process().memory_full_info().uss)


def rss_child(workdir: Path, ref: str) -> int:
    """Stream one tag through the loader; print one JSON line with the peaks in bytes."""
    lake = Lakehouse(Settings.embedded(workdir / "home"))
    ensure_ray(lake.settings.ray)
    with Memory() as memory:
        seconds, rows = timed(lambda: lakehouse_loader(lake, ref, 256))
    peaks = {
        "driver_rss": _peak_rss(),
        "driver_uss": memory.driver_uss,
        "workers_rss": memory.workers_rss,
        "workers_uss": memory.workers_uss,
    }
    print(json.dumps({"ref": ref, "rows": rows, "seconds": seconds, **peaks}))
    return 0


def _peak_rss() -> int:
    """This process's peak RSS in bytes: VmHWM, which belongs to the process image. (ru_maxrss
    would not do: it keeps the peak of the forked parent from before `exec`.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_rss_child(workdir: Path, ref: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--rss-child", ref, "--workdir", str(workdir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"rss child for {ref} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.rss_child:
        return rss_child(args.workdir, args.rss_child)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = [args.n] if args.skip_rss else [args.n, args.n_rss_small, args.n_rss_large]
    lake = prepare(args.workdir, sizes)
    ref, images = f"n{args.n}", jpeg_dir(args.workdir, 0, args.n)
    files = sorted(images.iterdir())
    runs: dict[str, Any] = {
        "lakehouse": lambda: lakehouse_loader(lake, ref, args.batch_size),
        "lakehouse_seeded": lambda: lakehouse_loader(lake, ref, args.batch_size, seed=1),
        "read_images": lambda: ray_read_images(images, args.batch_size),
        "single": lambda: single_process(files),
        "single_reduced": lambda: single_process(files, REDUCED_RGB, cv2.INTER_LINEAR),
        "huggingface": lambda: huggingface(lake, ref, args.batch_size),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(args.repeat + 1):
        for name, run in runs.items():
            elapsed, count = timed(run)
            if count != args.n:
                raise RuntimeError(f"{name} served {count} images, not {args.n}")
            if round_:  # the first round warms up
                seconds[name].append(elapsed)
    rate = {name: args.n / min(times) for name, times in seconds.items()}
    print(
        f"{args.n} 640x480 JPEGs -> RGB {SIZE[0]}x{SIZE[1]}; best of {args.repeat} rounds; "
        f"load average {Path('/proc/loadavg').read_text().split()[0]}"
    )
    print()
    print_table(
        ["loader", "best s", "images/s", "lakehouse / this"],
        [(name, min(seconds[name]), rate[name], rate["lakehouse"] / rate[name]) for name in runs],
    )
    targets = [
        Target(f"lakehouse / {name} images/s", rate["lakehouse"] / rate[name], ">=", TARGETS[name])
        for name in ("read_images", "single", "huggingface")
    ]
    measurements: dict[str, Any] = {"n": args.n, "seconds": seconds, "images_per_s": rate}
    if not args.skip_rss:
        small, large = (
            run_rss_child(args.workdir, f"n{n}") for n in (args.n_rss_small, args.n_rss_large)
        )
        print()
        print_table(
            [
                "images",
                "seconds",
                "MB peak: driver RSS",
                "driver USS",
                "workers RSS",
                "workers USS",
            ],
            [(r["rows"], r["seconds"], *(r[k] / 2**20 for k in MEMORY)) for r in (small, large)],
        )
        for key, what in (("driver_rss", "driver peak RSS"), ("workers_uss", "workers peak USS")):
            name = f"{what} {args.n_rss_large} / {args.n_rss_small} images"
            targets.append(Target(name, large[key] / small[key], "<=", TARGETS["rss"]))
        measurements["rss"] = [small, large]
    return report("loader", targets, measurements, args.json)


if __name__ == "__main__":
    sys.exit(main())
