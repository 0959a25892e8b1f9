"""`lakehouse validate` throughput against a single-process full `cv2.imdecode`.

    python tests/bench/bench_validate.py [--n 2000] [--workdir /tmp/lakehouse-bench]

Target (issue: quality jobs): validate images/s on N 640x480 JPEGs divided by single-process
full `cv2.imdecode` of the same files >= 1.6 on 2 cores. The baseline runs right before and
right after the validation and the better of the two counts, so noise never favours us.
Ray start-up is not counted (a long-running cluster is the normal deployment).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_WORKDIR, Target, jpeg_dir, report, timed
from bench_ingest import decode_rate

from lakehouse import Lakehouse, Settings
from lakehouse.raykit import ensure_ray


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json", type=Path, help="also write the summary JSON here")
    args = parser.parse_args(argv)

    data = jpeg_dir(args.workdir, 0, args.n)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="validate-") as home:
        lake = Lakehouse(Settings.embedded(home))
        ensure_ray(lake.settings.ray)
        lake.ingest([data], "bench")
        lake.branch_create("bench", "check")
        lake.branch_create("bench", "warm")
        lake.validate("bench", "warm")  # warm the Ray workers
        before = decode_rate(data)
        seconds, result = timed(lambda: lake.validate("bench", "check"))
        after = decode_rate(data)
    if result.assets_checked != args.n:
        raise RuntimeError(f"validated {result.assets_checked} of {args.n} assets")
    rate, baseline = args.n / seconds, max(before, after)
    print(
        f"validate: {args.n} assets in {seconds:.2f} s = {rate:.0f} images/s "
        f"({result.assets_failed} failing)"
    )
    print(f"baseline: cv2.imdecode one process {before:.0f} / {after:.0f} images/s")
    return report(
        "bench_validate",
        [Target("validate images/s / cv2.imdecode images/s", rate / baseline, ">=", 1.6)],
        {"validate_images_per_s": rate, "decode_before": before, "decode_after": after},
        args.json,
    )


if __name__ == "__main__":
    sys.exit(main())
