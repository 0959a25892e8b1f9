"""A file rewritten after the driver read and hashed it, while its bytes are being inspected.

Another process writing into the ingest root at that moment is emulated deterministically: the
workers here are the real inspection, run in process, after rewriting one file first.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lakehouse import Lakehouse, Settings
from lakehouse.ingest.inspect_task import ImageBatch, inspect_images
from lakehouse.ingest.run import IngestRequest, run_ingest
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.samples import make_jpeg


def _workers(lake: Lakehouse, rewrite: Path, new_bytes: bytes) -> IngestWorkers:
    policy = lake.policy()

    def inspect(batch: ImageBatch) -> list:
        rewrite.write_bytes(new_bytes)
        return inspect_images(batch, policy.image)

    def no_video(path: str) -> None:
        raise AssertionError(f"no video expected, got {path}")

    return IngestWorkers(inspect, lambda results: results, no_video, no_video, files_per_task=8)


def test_rewritten_file_is_stored_as_read_and_its_new_bytes_taken_next_time(tmp_path, ray_cluster):
    lake = Lakehouse(Settings.embedded(tmp_path / "home"))
    root = tmp_path / "drop"
    root.mkdir()
    original, rewritten = make_jpeg(1), make_jpeg(2)
    (root / "a.jpg").write_bytes(original)
    (root / "b.jpg").write_bytes(make_jpeg(3))

    report = run_ingest(
        lake.catalog,
        lake.control,
        lake.policy(),
        IngestRequest("ds", (str(root),)),
        _workers(lake, root / "a.jpg", rewritten),
        commit_bytes=1 << 20,
    )
    # what was judged and stored is exactly what was hashed: the bytes as they were read
    assert report.counts["added"] == 2
    ledger = dict(lake.sql("SELECT rel_path, asset_id FROM sources", "ds").rows())
    assert ledger["a.jpg"] == hashlib.sha256(original).hexdigest()
    assert _content(lake, ledger["a.jpg"]) == original

    # the rewrite moved the file's stamp, so the next ingest reads it again and takes it
    again = lake.ingest([root], "ds")
    assert again.counts["added"] == 1 and again.counts["already_present"] == 1
    assert _content(lake, hashlib.sha256(rewritten).hexdigest()) == rewritten


def _content(lake: Lakehouse, asset_id: str) -> bytes:
    frame = lake.sql(f"SELECT content FROM assets WHERE asset_id = '{asset_id}'", "ds")
    (content,) = frame["content"].to_list()
    return content
