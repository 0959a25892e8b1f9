"""Ray job: `ray job submit --working-dir . -- python jobs/ingest.py PATH --dataset D`.

Thin on purpose: the arguments of `lakehouse ingest`; inside a Ray job RAY_ADDRESS is set,
so the work runs on the job's cluster.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the uploaded working dir

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", "--no-progress", *sys.argv[1:]]))
