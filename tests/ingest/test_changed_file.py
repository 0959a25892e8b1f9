"""A file rewritten between the driver's hash and the worker's decode.

Another process writing into the ingest root at that moment is emulated deterministically: the
workers here are the real inspection, run in process, after rewriting one file first.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lakehouse import Lakehouse, Settings
from lakehouse.ingest.inspect_task import inspect_files
from lakehouse.ingest.run import IngestRequest, run_ingest
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.samples import make_jpeg


def _workers(lake: Lakehouse, rewrite: Path, new_bytes: bytes) -> IngestWorkers:
    policy = lake.policy()

    def inspect(items: list[tuple[int, str]]) -> list:
        for _, path in items:
            if Path(path) == rewrite:
                rewrite.write_bytes(new_bytes)
        return inspect_files(items, policy.image)

    def no_video(path: str) -> None:
        raise AssertionError(f"no video expected, got {path}")

    return IngestWorkers(inspect, lambda results: results, no_video, no_video, files_per_task=8)


def test_rewritten_file_is_skipped_with_the_reason_and_taken_next_time(tmp_path, ray_cluster):
    lake = Lakehouse(Settings.embedded(tmp_path / "home"))
    root = tmp_path / "drop"
    root.mkdir()
    rewritten = make_jpeg(2)
    (root / "a.jpg").write_bytes(make_jpeg(1))
    (root / "b.jpg").write_bytes(make_jpeg(3))

    report = run_ingest(
        lake.catalog,
        lake.control,
        lake.policy(),
        IngestRequest("ds", (str(root),)),
        _workers(lake, root / "a.jpg", rewritten),
        commit_bytes=1 << 20,
    )
    # a race is not bad content: nothing is quarantined, the ledger says what happened
    assert report.counts["added"] == 1 and report.counts["skipped"] == 1
    ledger = dict(lake.sql("SELECT rel_path, detail FROM sources", "ds").rows())
    assert ledger["a.jpg"].startswith("changed_during_ingest:") and ledger["b.jpg"] is None
    assert lake.sql("SELECT count(*) FROM quarantine", "ds").item() == 0
    (stored,) = lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list()
    assert stored == hashlib.sha256(make_jpeg(3)).hexdigest()

    # the next ingest sees the file as it is now and takes it
    again = lake.ingest([root], "ds")
    assert again.counts["added"] == 1 and again.counts["already_present"] == 1
    ids = set(lake.sql("SELECT asset_id FROM assets", "ds")["asset_id"].to_list())
    assert hashlib.sha256(rewritten).hexdigest() in ids
