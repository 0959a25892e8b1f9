"""Shared helpers of the benchmark scripts: cached sample JPEGs, timing, result reporting.

Sample JPEGs are made once per seed with `lakehouse.samples.make_jpeg` into
`<workdir>/pool/` and hard-linked into one directory per seed range, so reruns and the
different benchmarks share them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_WORKDIR = Path("/tmp/lakehouse-bench")


def jpeg_name(seed: int) -> str:
    return f"img_{seed:07d}.jpg"


def jpeg_dir(workdir: Path, first_seed: int, count: int) -> Path:
    """A directory holding exactly the `count` distinct 640x480 JPEGs of seeds
    `first_seed, first_seed + 1, ...`; generated in parallel on first use, cached after."""
    target = workdir / "sets" / f"seeds_{first_seed}_{count}"
    names = [jpeg_name(seed) for seed in range(first_seed, first_seed + count)]
    if target.is_dir() and sorted(os.listdir(target)) == names:
        return target
    pool = workdir / "pool"
    _generate(
        pool,
        [s for s in range(first_seed, first_seed + count) if not (pool / jpeg_name(s)).exists()],
    )
    target.mkdir(parents=True, exist_ok=True)
    for name in set(os.listdir(target)) - set(names):
        (target / name).unlink()
    for name in names:
        if not (target / name).exists():
            os.link(pool / name, target / name)
    return target


def _generate(pool: Path, seeds: list[int]) -> None:
    if not seeds:
        return
    pool.mkdir(parents=True, exist_ok=True)
    print(f"generating {len(seeds)} JPEGs into {pool} (cached for reruns) ...", file=sys.stderr)
    started = time.perf_counter()
    # spawn, not fork: a forked child of a process that already used OpenCV can hang.
    context = multiprocessing.get_context("spawn")
    with context.Pool(os.cpu_count(), initializer=_single_threaded_opencv) as workers:
        for _ in workers.imap_unordered(_write_jpeg, [(pool, s) for s in seeds], chunksize=16):
            pass
    print(f"  done in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _single_threaded_opencv() -> None:
    import cv2

    cv2.setNumThreads(1)


def _write_jpeg(job: tuple[Path, int]) -> None:
    from lakehouse.samples import make_jpeg

    pool, seed = job
    final = pool / jpeg_name(seed)
    partial = final.with_name(f"{final.name}.{os.getpid()}.part")
    partial.write_bytes(make_jpeg(seed))
    os.replace(partial, final)


def timed(function: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def revision() -> str:
    """`git describe --always --dirty` of the checkout being measured."""
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def dir_bytes(directory: Path) -> int:
    return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.is_file())


@dataclass(frozen=True)
class Target:
    """One benchmark target: `value op limit` must hold (`op` is '>=' or '<=')."""

    name: str
    value: float
    op: str
    limit: float

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.op == ">=" else self.value <= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "op": self.op,
            "limit": self.limit,
            "passed": self.passed,
        }


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned text table; floats are printed with 3 significant decimals."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True)
            )
        )


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).replace("x", "", 1).isdigit()


def report(
    bench: str, targets: Sequence[Target], measurements: dict[str, Any], json_path: Path | None
) -> int:
    """Print a PASS/FAIL line per target, the summary table and a final JSON line (also
    written to `json_path`); return the exit status: 0 when every target passed."""
    print()
    for target in targets:
        verdict = "PASS" if target.passed else "FAIL"
        print(f"{verdict}: {target.name} = {target.value:.3f} (target {target.op} {target.limit})")
    print()
    print_table(
        ["target", "value", "goal", "result"],
        [(t.name, t.value, f"{t.op} {t.limit}", "PASS" if t.passed else "FAIL") for t in targets],
    )
    passed = all(t.passed for t in targets)
    summary = {
        "bench": bench,
        "revision": revision(),
        "passed": passed,
        "targets": [t.to_dict() for t in targets],
        "measurements": measurements,
    }
    line = json.dumps(summary, sort_keys=True)
    if json_path is not None:
        json_path.write_text(line + "\n")
    print(line)
    return 0 if passed else 1
