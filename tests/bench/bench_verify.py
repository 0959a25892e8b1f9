"""`verify_version` throughput against re-hashing the same images from plain files.

`--n` distinct 640x480 JPEGs (`lakehouse.samples.make_jpeg`, cached under the workdir) are
ingested into a fresh embedded lakehouse; the version is exported to plain files (one per asset,
`export_version`, timed for information). Then, best of `--repeat` interleaved runs after one
untimed warm-up of each (page cache warm for both):

- verify MB/s (`verify_version`, `--threads`, end to end: planning, reads, sha256, fingerprint)
  over MB/s of one thread reading every exported file and hashing it with sha256
                                                                    target >= 0.5

MB are content bytes. The ingest is not timed, and Ray is shut down before any timing.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

import ray
from _common import DEFAULT_WORKDIR, Target, jpeg_dir, print_table, report, timed

from lakehouse import Lakehouse, Settings
from lakehouse.export import export_version
from lakehouse.verify import VerifyReport, verify_version

RATIO_MIN = 0.5
MB = 1024 * 1024


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=2000, help="images (default 2000)")
    parser.add_argument("--threads", type=int, default=2, help="verify threads (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs each (best counts)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR / "verify",
        help=f"cached images and scratch homes (default {DEFAULT_WORKDIR}/verify)",
    )
    parser.add_argument("--json", type=Path, help="also write the final JSON line to this file")
    return parser.parse_args(argv)


def hash_files(paths: list[Path]) -> int:
    """Read and sha256 every file in one thread; the bytes hashed."""
    total = 0
    for path in paths:
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        total += len(data)
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    images = jpeg_dir(args.workdir, 0, args.n)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="run-") as scratch:
        lake = Lakehouse(Settings.embedded(Path(scratch) / "home"))
        ingest = lake.ingest([images], "bench")
        if ingest.counts.get("added") != args.n:
            raise RuntimeError(f"expected {args.n} assets added, got {ingest.counts}")
        version = lake.resolve("bench")
        ray.shutdown()  # verify and export do not use Ray; its daemons must not share the CPUs
        export_seconds, exported = timed(
            lambda: export_version(lake.catalog, version, Path(scratch) / "export")
        )
        plain = sorted((Path(scratch) / "export").glob("*/*"))

        def verify() -> VerifyReport:
            return verify_version(lake.catalog, version, threads=args.threads)

        checked, baseline_bytes = verify(), hash_files(plain)  # warm-up, untimed
        if not checked.ok or checked.bytes != baseline_bytes:
            raise RuntimeError(f"verify disagrees with the plain files: {checked.to_dict()}")
        runs: dict[str, list[float]] = {"verify": [], "plain": []}
        for _ in range(args.repeat):
            runs["verify"].append(timed(verify)[0])
            runs["plain"].append(timed(lambda: hash_files(plain))[0])
    best = {name: min(seconds) for name, seconds in runs.items()}
    rates = {name: checked.bytes / MB / seconds for name, seconds in best.items()}
    print(
        f"{checked.assets} assets, {checked.bytes / MB:.1f} MB in {checked.files} data files; "
        f"best of {args.repeat} runs, verify with {args.threads} threads"
    )
    print()
    print_table(
        ["run", "best s", "MB/s", "assets/s"],
        [
            ("verify_version", best["verify"], rates["verify"], checked.assets / best["verify"]),
            (
                "plain files: read + sha256, 1 thread",
                best["plain"],
                rates["plain"],
                checked.assets / best["plain"],
            ),
            (
                "export_version (once, information)",
                export_seconds,
                exported.bytes / MB / export_seconds,
                exported.files / export_seconds,
            ),
        ],
    )
    ratio = rates["verify"] / rates["plain"]
    measurements: dict[str, Any] = {
        "assets": checked.assets,
        "bytes": checked.bytes,
        "data_files": checked.files,
        "threads": args.threads,
        "verify_seconds": best["verify"],
        "plain_seconds": best["plain"],
        "verify_mb_s": rates["verify"],
        "plain_mb_s": rates["plain"],
        "export_seconds": export_seconds,
    }
    return report(
        "verify",
        [Target("verify MB/s / plain read+sha256 MB/s", ratio, ">=", RATIO_MIN)],
        measurements,
        args.json,
    )


if __name__ == "__main__":
    sys.exit(main())
