"""How the driver reads files and groups them before anything is decoded."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pyarrow.parquet as pq

from lakehouse import Lakehouse, Settings
from lakehouse.ingest import plan, run
from lakehouse.ingest.inspect_task import ImageBatch, inspect_images
from lakehouse.ingest.walk import FileEntry, walk
from lakehouse.ingest.workers import IngestWorkers
from lakehouse.samples import make_jpeg
from lakehouse.samples_video import write_mp4


def _entries(sizes: list[int]) -> list[FileEntry]:
    return [FileEntry("/r", f"{i}.jpg", size) for i, size in enumerate(sizes)]


def test_source_uris_are_what_pathlib_makes_of_awkward_names(tmp_path):
    names = ["plain.jpg", "with space.jpg", "per%cent#hash?.jpg", "ünïcödé.jpg", "日本.png"]
    (tmp_path / "sub dir").mkdir()
    for name in names:
        (tmp_path / "sub dir" / name).write_bytes(b"x")
    entries = list(walk([tmp_path]))
    assert len(entries) == len(names)
    for entry in entries:
        assert entry.source_uri == Path(entry.path).as_uri()


def test_probe_chunks_start_small_and_double_up_to_the_limit():
    chunks = list(plan._chunks(_entries([1] * 100), first=8, files=32, size=1 << 20))
    assert [len(c) for c in chunks] == [8, 16, 32, 32, 12]


def test_probe_chunks_close_early_at_the_byte_limit():
    chunks = list(plan._chunks(_entries([10, 10, 30, 5, 5, 5, 50]), first=4, files=4, size=40))
    assert [[e.size for e in c] for c in chunks] == [[10, 10, 30], [5, 5, 5, 50]]


def test_large_files_are_read_in_chunks_with_the_same_outcome(tmp_path, monkeypatch, lake):
    """Files at or over the whole-read limit are hashed chunk by chunk: a video is never held
    whole, an image is kept for its worker; what lands is what a whole read gives."""
    root = tmp_path / "drop"
    root.mkdir()
    jpegs = {f"{i}.jpg": make_jpeg(i) for i in range(3)}
    for name, data in jpegs.items():
        (root / name).write_bytes(data)
    video = write_mp4(root / "clip.mp4", frames=6)
    monkeypatch.setattr(plan, "_WHOLE_READ_MAX", 1024)
    monkeypatch.setattr(plan, "_HASH_CHUNK", 4096)
    monkeypatch.setattr(plan, "_thread_buffers", type(plan._thread_buffers)())

    probes = {e.rel_path: plan._probe(e) for e in walk([root])}
    for name, data in jpegs.items():
        assert probes[name].data == data
        assert probes[name].sha256 == hashlib.sha256(data).hexdigest()
    assert probes["clip.mp4"].video and probes["clip.mp4"].data is None
    assert probes["clip.mp4"].sha256 == hashlib.sha256(video.read_bytes()).hexdigest()

    report = lake.ingest([root], "ds")
    assert report.counts["added"] == 4  # three images and the video
    images = lake.sql("SELECT asset_id, content FROM assets WHERE kind = 'image'", "ds")
    stored = dict(images.rows())
    assert stored == {hashlib.sha256(d).hexdigest(): d for d in jpegs.values()}


def test_the_last_row_group_holds_only_the_last_task(tmp_path, ray_cluster):
    """Row groups fill up to their byte target, except that the run's last task's images are
    written alone: when the workers finish, little is left to write."""
    settings = Settings.embedded(tmp_path / "home").with_ingest(files_per_task=4)
    lake = Lakehouse(settings)
    root = tmp_path / "drop"
    root.mkdir()
    for i in range(10):
        (root / f"{i:02}.jpg").write_bytes(make_jpeg(i))
    report = lake.ingest([root], "ds")
    assert report.counts["added"] == 10

    table = lake.catalog.load_table("ds.assets")
    (data_file,) = [task.file for task in table.scan().plan_files()]
    parquet = pq.ParquetFile(data_file.file_path.removeprefix("file://"))
    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
    assert sizes == [8, 2]  # tasks of 4, 4 and 2 images; 10 JPEGs are far below 32 MB


def test_image_bytes_in_flight_stay_bounded_across_windows(tmp_path, monkeypatch, ray_cluster):
    """Submitting beyond the in-flight limit first takes the oldest task's verdicts, even
    one of a window still being committed: the bytes held do not grow with the windows."""
    lake = Lakehouse(Settings.embedded(tmp_path / "home"))
    policy = lake.policy()
    root = tmp_path / "drop"
    root.mkdir()
    images = {f"{i:02}.jpg": make_jpeg(i, (320, 240)) for i in range(24)}
    for name, data in images.items():
        (root / name).write_bytes(data)
    limit = 200_000  # about two tasks of four of these ~21 KB images
    monkeypatch.setattr(run, "_IMAGE_BYTES_IN_FLIGHT", limit)
    outstanding: dict[int, int] = {}  # handle -> bytes
    most = [0]
    handles = itertools.count()

    def inspect(batch: ImageBatch) -> int:
        handle = next(handles)
        outstanding[handle] = batch.contents.nbytes
        most[0] = max(most[0], sum(outstanding.values()))
        verdicts[handle] = inspect_images(batch, policy.image)
        return handle

    def collect(taken: list[int]) -> list:
        for handle in taken:
            del outstanding[handle]
        return [verdicts.pop(h) for h in taken]

    verdicts: dict[int, list] = {}
    workers = IngestWorkers(inspect, collect, _no_video, _no_video, files_per_task=4)
    report = run.run_ingest(
        lake.catalog,
        lake.control,
        policy,
        run.IngestRequest("ds", (str(root),)),
        workers,
        commit_bytes=limit * 2,  # windows of about 16 images
    )
    assert report.counts["added"] == 24
    assert limit / 2 < most[0] <= limit
    assert lake.sql("SELECT count(*) FROM sources", "ds").item() == 24
    stored = dict(lake.sql("SELECT asset_id, content FROM assets", "ds").rows())
    assert stored == {hashlib.sha256(d).hexdigest(): d for d in images.values()}
    batches = {
        s.summary["lakehouse.batch"]
        for s in lake.catalog.load_table("ds.assets").snapshots()
        if s.summary and "lakehouse.batch" in s.summary.additional_properties
    }
    assert len(batches) >= 2  # it did span several windows


def _no_video(path: str) -> None:
    raise AssertionError(f"no video expected, got {path}")
