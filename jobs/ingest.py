"""Ray job entry point for ingest: `ray job submit --working-dir . -- python jobs/ingest.py ...`.

Thin on purpose: the same arguments as `lakehouse ingest`; all logic lives in the package.
Inside a Ray job RAY_ADDRESS is set, so the ingest joins the job's cluster.
"""

import sys

from lakehouse.cli import main

if __name__ == "__main__":
    sys.exit(main(["ingest", *sys.argv[1:]]))
