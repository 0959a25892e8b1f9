"""History stays cheap: commit and `show` latency at version ~1,000 vs ~10, and tag/branch
creation on 100,000 assets vs 1,000.

    python tests/bench/bench_history.py [--versions 1000] [--large 100000] [--small 1000]

Targets (issue: versioning): commit and show latency at the last window of versions divided
by the early window <= 2 (raw pyiceberg: ~13); tag and branch creation on the large dataset
divided by the small one <= 1.2. A "commit" here is a whole `Lakehouse.ingest` of one new
image into main: work branch, appends, publish, Iceberg ref sync and the automatic
maintenance it triggers now and then (amortised into the window's mean).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from lakehouse import Lakehouse, Settings
from lakehouse import tables as iceberg
from lakehouse.control import current_actor
from lakehouse.ingest.rows import ASSETS_ARROW
from lakehouse.publish import publish_work_branch
from lakehouse.raykit import ensure_ray
from lakehouse.samples import make_jpeg

WINDOW = 30


def commit_latencies(
    lake: Lakehouse, workdir: Path, versions: int
) -> tuple[list[float], list[float]]:
    """Seconds per one-image ingest, and per `show --ref main`, for versions 1..N."""
    commits, shows = [], []
    for n in range(versions):
        drop = workdir / f"v{n:05d}"
        drop.mkdir()
        (drop / "x.jpg").write_bytes(make_jpeg(100_000 + n, size=(64, 48), quality=80))
        started = time.perf_counter()
        lake.ingest([drop], "hist")
        commits.append(time.perf_counter() - started)
        started = time.perf_counter()
        lake.show(lake.resolve("hist", ref="main"))
        shows.append(time.perf_counter() - started)
        if n % 100 == 99:
            print(
                f"  version {n + 1}: commit {statistics.mean(commits[-WINDOW:]) * 1e3:.0f} ms, "
                f"show {statistics.mean(shows[-WINDOW:]) * 1e3:.1f} ms",
                flush=True,
            )
    return commits, shows


def synthetic_dataset(lake: Lakehouse, dataset: str, assets: int) -> None:
    """`assets` rows of small random bytes (correct sha256 ids) published as one version.

    Tag and branch cost is about metadata, not pixels: real JPEGs would only slow set-up.
    """
    heads = iceberg.ensure_dataset(lake.catalog, dataset)
    root = lake.control.create_root(dataset, heads, current_actor())
    rng = np.random.default_rng(7)
    now = datetime.now(UTC)
    for start in range(0, assets, 50_000):
        count = min(50_000, assets - start)
        contents = [rng.bytes(256) for _ in range(count)]
        rows = {
            "asset_id": [hashlib.sha256(c).hexdigest() for c in contents],
            "content": contents,
            "media_type": ["image/jpeg"] * count,
            "kind": ["image"] * count,
            "width": [64] * count,
            "height": [48] * count,
            "channels": [3] * count,
            "bit_depth": [8] * count,
            "byte_size": [256] * count,
            "phash": [0] * count,
            "video_id": [None] * count,
            "frame_index": [None] * count,
            "pts_ms": [None] * count,
            "source_uri": [f"file:///synthetic/{start + i}.jpg" for i in range(count)],
            "ingest_id": ["synthetic"] * count,
            "ingested_at": [now] * count,
            "attrs": [[]] * count,
            "format": ["jpeg"] * count,
            "color_mode": ["rgb"] * count,
            "exif_orientation": [None] * count,
        }
        iceberg.append(
            lake.catalog,
            f"{dataset}.assets",
            pa.table(rows, schema=ASSETS_ARROW),
            "lakehouse-bench",
            {},
            fork_from=heads["assets"],
        )
    publish_work_branch(
        lake.catalog,
        lake.control,
        dataset,
        "lakehouse-bench",
        root,
        "main",
        "bench",
        "synthetic assets",
        current_actor(),
        {},
    )


def ref_creation(lake: Lakehouse, dataset: str, repeats: int = 7) -> dict[str, float]:
    tags, branches = [], []
    for i in range(repeats):
        started = time.perf_counter()
        lake.tag_create(dataset, f"t{i}", "main", "bench")
        tags.append(time.perf_counter() - started)
        started = time.perf_counter()
        lake.branch_create(dataset, f"b{i}", "main")
        branches.append(time.perf_counter() - started)
    return {"tag": statistics.median(tags), "branch": statistics.median(branches)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lakehouse-bench-history-") as tmp:
        workdir = Path(tmp)
        lake = Lakehouse(Settings.embedded(workdir / "home"))
        ensure_ray(lake.settings.ray)

        print(f"committing {args.versions} versions ...", flush=True)
        (workdir / "drops").mkdir()
        commits, shows = commit_latencies(lake, workdir / "drops", args.versions)
        early = slice(10, 10 + WINDOW)
        late = slice(args.versions - WINDOW, args.versions)
        commit_ratio = statistics.mean(commits[late]) / statistics.mean(commits[early])
        show_ratio = statistics.mean(shows[late]) / statistics.mean(shows[early])
        snapshots = len(lake.catalog.load_table("hist.assets").metadata.snapshots)

        print(f"building datasets of {args.small} and {args.large} assets ...", flush=True)
        synthetic_dataset(lake, "small", args.small)
        synthetic_dataset(lake, "large", args.large)
        small, large = ref_creation(lake, "small"), ref_creation(lake, "large")

    results = {
        "commit_ms_early": statistics.mean(commits[early]) * 1e3,
        "commit_ms_late": statistics.mean(commits[late]) * 1e3,
        "commit_ratio": commit_ratio,
        "show_ms_early": statistics.mean(shows[early]) * 1e3,
        "show_ms_late": statistics.mean(shows[late]) * 1e3,
        "show_ratio": show_ratio,
        "assets_snapshots_at_end": snapshots,
        "tag_ms_small": small["tag"] * 1e3,
        "tag_ms_large": large["tag"] * 1e3,
        "tag_ratio": large["tag"] / small["tag"],
        "branch_ms_small": small["branch"] * 1e3,
        "branch_ms_large": large["branch"] * 1e3,
        "branch_ratio": large["branch"] / small["branch"],
    }
    checks = [
        ("commit latency v1000/v10", commit_ratio, "<= 2", commit_ratio <= 2),
        ("show --ref main latency v1000/v10", show_ratio, "<= 2", show_ratio <= 2),
        (
            f"tag create {args.large}/{args.small} assets",
            results["tag_ratio"],
            "<= 1.2",
            results["tag_ratio"] <= 1.2,
        ),
        (
            f"branch create {args.large}/{args.small} assets",
            results["branch_ratio"],
            "<= 1.2",
            results["branch_ratio"] <= 1.2,
        ),
    ]
    print(
        f"\ncommit: {results['commit_ms_early']:.0f} ms (versions 10-40) -> "
        f"{results['commit_ms_late']:.0f} ms (last {WINDOW}); assets table holds "
        f"{snapshots} snapshots at the end"
    )
    print(f"show:   {results['show_ms_early']:.1f} ms -> {results['show_ms_late']:.1f} ms")
    print(
        f"tag:    {results['tag_ms_small']:.1f} ms ({args.small}) vs "
        f"{results['tag_ms_large']:.1f} ms ({args.large}); branch: "
        f"{results['branch_ms_small']:.1f} ms vs {results['branch_ms_large']:.1f} ms"
    )
    for name, value, target, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {name:40} {value:6.2f}  (target {target})")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
