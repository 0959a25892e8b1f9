"""Ray job: `ray job submit --working-dir . -- python jobs/validate.py DATASET --ref BRANCH`.

Thin on purpose: the arguments of `lakehouse validate`; inside a Ray job RAY_ADDRESS is set,
so the work runs on the job's cluster.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the uploaded working dir

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["validate", *sys.argv[1:]]))
