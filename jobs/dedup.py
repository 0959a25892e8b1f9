"""Ray job: `ray job submit --working-dir . -- python jobs/dedup.py DATASET --ref BRANCH`.

Thin on purpose: the arguments of `lakehouse dedup`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the uploaded working dir

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["dedup", *sys.argv[1:]]))
