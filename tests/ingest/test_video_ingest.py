"""Videos through `ingest`: frames become assets, verdicts become quarantine rows, one ledger.

Real containers written by PyAV from bundled photos (`lakehouse.samples_video`), real Ray.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from lakehouse.remediation import ReleaseRefused
from lakehouse.samples import make_jpeg
from lakehouse.samples_video import (
    write_mkv,
    write_truncated_mkv,
    write_video_drop,
    write_with_missing_timestamps,
)

pytestmark = pytest.mark.slow
DEFAULT_POLICY = Path(__file__).parents[2] / "quality/policies/default.toml"


@pytest.fixture
def drop(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "drop"
    expected = write_video_drop(root)
    (root / "photos").mkdir()
    (root / "photos/a.jpg").write_bytes(make_jpeg(1))
    (root / "photos/b.jpg").write_bytes(make_jpeg(2))
    return root, expected


def _policy(tmp_path: Path, **video: object) -> Path:
    text = DEFAULT_POLICY.read_text()
    for key, value in video.items():
        line = next(x for x in text.splitlines() if x.startswith(f"{key} = "))
        rendered = f'"{value}"' if isinstance(value, str) else str(value).lower()
        text = text.replace(line, f"{key} = {rendered}")
    path = tmp_path / "video-policy.toml"
    path.write_text(text.replace('name = "default"', 'name = "video-test"'))
    return path


def _sources(lake, ingest_id: str | None = None, ref: str = "main") -> dict[str, tuple]:
    """rel_path -> (outcome, quarantine_id, detail) of one ingest's ledger (the only one)."""
    frame = lake.sql(
        "SELECT rel_path, outcome, quarantine_id, detail, ingest_id FROM sources", "ds", ref
    )
    if ingest_id is not None:
        frame = frame.filter(frame["ingest_id"] == ingest_id)
    assert frame["rel_path"].n_unique() == frame.height
    return {r[0]: r[1:4] for r in frame.rows()}


def test_every_sample_video_gets_its_verdict_and_good_ones_become_frames(lake, drop):
    root, expected = drop
    report = lake.ingest([root], "ds")
    files = sum(1 for p in root.rglob("*") if p.is_file())
    assert report.files == files == len(expected) + 2

    sources = _sources(lake)
    quarantine = {
        row[0]: row[1:]
        for row in lake.sql(
            "SELECT source_uri, category, reasons, sha256, byte_size, content FROM quarantine",
            "ds",
        ).rows()
    }
    for rel, (category, reasons) in expected.items():
        outcome, quarantine_id, detail = sources[rel]
        path = root / rel
        video_id = hashlib.sha256(path.read_bytes()).hexdigest()
        assert detail.startswith(f"video_id={video_id}"), rel
        if category is None:
            assert outcome == "added" and quarantine_id is None, rel
            continue
        assert outcome == "quarantined", rel
        q_category, q_reasons, sha, size, content = quarantine[path.as_uri()]
        assert (q_category, tuple(q_reasons)) == (category, reasons), rel
        assert sha == video_id and size == path.stat().st_size
        assert content == path.read_bytes()  # the refused bytes are kept, not lost
    assert sources["photos/a.jpg"][0] == sources["photos/b.jpg"][0] == "added"

    # accepted videos: a videos row each; frames as assets of kind 'frame'
    videos = lake.sql(
        "SELECT source_uri, container, codec, fps, frame_count, frames_decoded, frames_stored,"
        " sampling, frame_encoding FROM videos ORDER BY source_uri",
        "ds",
    )
    good = sorted((root / rel).as_uri() for rel, (cat, _) in expected.items() if cat is None)
    assert videos["source_uri"].to_list() == good
    assert set(videos["frames_decoded"].to_list()) == {60}
    assert set(videos["sampling"].to_list()) == {"every:1"}
    assert set(videos["frame_encoding"].to_list()) == {"png"}
    assert videos.filter(videos["container"] == "avi")["fps"].item() == pytest.approx(30.0)

    frames = lake.sql(
        "SELECT asset_id, content, video_id, frame_index, pts_ms, width, height, media_type"
        " FROM assets WHERE kind = 'frame' ORDER BY video_id, frame_index",
        "ds",
    )
    assert frames.height == sum(videos["frames_stored"].to_list()) > 0
    assert report.frames_stored == frames.height
    for _, part in frames.group_by("video_id"):
        indexes = part["frame_index"].to_list()
        pts = part["pts_ms"].to_list()
        assert pts == sorted(pts) and len(set(indexes)) == len(indexes)
    row = frames.row(0, named=True)
    assert hashlib.sha256(row["content"]).hexdigest() == row["asset_id"]
    image = cv2.imdecode(np.frombuffer(row["content"], np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (row["height"], row["width"], 3) and row["media_type"] == "image/png"
    # refused videos left no frames behind
    assert lake.sql("SELECT count(DISTINCT video_id) FROM assets", "ds").item() == len(
        {vid for (vid,), _ in frames.group_by("video_id")}
    )
    assert lake.verify("ds").ok


def test_reingest_decodes_nothing_and_copies_are_duplicates(lake, drop, tmp_path):
    root, expected = drop
    first = lake.ingest([root], "ds")
    again = lake.ingest([root], "ds")
    assert again.decoded == 0
    accepted = sum(1 for category, _ in expected.values() if category is None) + 2
    assert again.counts["already_present"] == accepted
    assert again.counts["quarantined"] == first.counts["quarantined"]
    assert again.snapshots["assets"] == first.snapshots["assets"]

    copies = tmp_path / "copies"
    copies.mkdir()
    for name in ("one.mkv", "two.mkv"):
        (copies / name).write_bytes((root / "videos/pan.mkv").read_bytes())
    write_mkv(copies / "three.mkv", frames=20, size=(160, 120), seed=7)
    (copies / "three_again.mkv").write_bytes((copies / "three.mkv").read_bytes())
    report = lake.ingest([copies], "ds")
    assert report.counts == {
        "added": 1,
        "duplicate": 1,
        "already_present": 2,
        "quarantined": 0,
        "skipped": 0,
    }
    new = lake.sql(
        f"SELECT frame_index FROM assets WHERE source_uri = '{(copies / 'three.mkv').as_uri()}'",
        "ds",
    )
    assert sorted(new["frame_index"].to_list()) == list(range(20))


def test_sampling_and_jpeg_frames_are_policy_choices_recorded_per_asset(lake, tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    (root / "seed.jpg").write_bytes(make_jpeg(5))
    lake.ingest([root], "ds")  # the dataset, under the default policy
    lake.branch_create("ds", "sampled")
    write_mkv(root / "pan.mkv", frames=60, size=(160, 120), seed=3)
    policy = _policy(tmp_path, sampling="every:5", frame_encoding="jpeg:90")
    lake.ingest([root], "ds", ref="sampled", policy=str(policy))

    frames = lake.sql(
        "SELECT frame_index, media_type, format, attrs, content FROM assets"
        " WHERE kind = 'frame' ORDER BY frame_index",
        "ds",
        ref="sampled",
    )
    assert frames["frame_index"].to_list() == list(range(0, 60, 5))
    assert set(frames["media_type"].to_list()) == {"image/jpeg"}
    assert set(frames["format"].to_list()) == {"jpeg"}
    assert frames["attrs"][0] == {
        "lakehouse.sampling": "every:5",
        "lakehouse.frame_encoding": "jpeg:q90",
    }
    assert frames["content"][0][:3] == b"\xff\xd8\xff"
    video = lake.sql("SELECT sampling, frame_encoding, frames_stored FROM videos", "ds", "sampled")
    assert video.rows() == [("every:5", "jpeg:q90", 12)]
    assert lake.sql("SELECT count(*) FROM assets WHERE kind = 'frame'", "ds").item() == 0


def test_truncated_video_keeps_its_head_only_when_the_policy_says_so(lake, tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    write_truncated_mkv(root / "cut.mkv")
    lake.ingest([root], "ds")
    assert _sources(lake)["cut.mkv"][0] == "quarantined"
    assert lake.sql("SELECT count(*) FROM assets", "ds").item() == 0

    lake.branch_create("ds", "lenient")
    lenient = _policy(tmp_path, keep_truncated_frames=True)
    report = lake.ingest([root], "ds", ref="lenient", policy=str(lenient))
    outcome, quarantine_id, detail = _sources(lake, report.ingest_id, "lenient")["cut.mkv"]
    assert outcome == "added" and "flagged truncated_stream" in detail
    flagged = lake.sql(
        "SELECT quarantine_id, category, reasons, status FROM quarantine WHERE policy LIKE"
        " 'video-test@%'",
        "ds",
        "lenient",
    )
    assert flagged.rows() == [(quarantine_id, "corrupt", ["truncated_stream"], "open")]
    stored = lake.sql("SELECT frames_decoded, frames_stored FROM videos", "ds", "lenient")
    decoded, kept = stored.row(0)
    assert 0 < kept == decoded < 60  # the decodable head, all of it
    assert lake.sql("SELECT count(*) FROM assets", "ds", "lenient").item() == kept


def test_video_versions_time_travel_and_diff(lake, tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    (root / "a.jpg").write_bytes(make_jpeg(9))
    before = lake.ingest([root], "ds")
    lake.tag_create("ds", "images-only")
    write_mkv(root / "pan.mkv", frames=30, size=(160, 120), seed=11)
    after = lake.ingest([root], "ds")
    diff = lake.diff("ds", "images-only", "main")
    assert len(diff.added) == 30 and diff.removed == []
    assert diff.media_types == {"image/png": {"added": 30, "removed": 0}}
    assert diff.videos == {"mkv": 1} and diff.ledger == {"added": 1, "already_present": 1}
    assert lake.sql("SELECT count(*) FROM videos", "ds", "images-only").item() == 0
    assert lake.sql("SELECT count(*) FROM videos", "ds").item() == 1
    old = lake.resolve("ds", version_id=before.version_id)
    new = lake.resolve("ds", version_id=after.version_id)
    assert old.properties["fingerprint"] != new.properties["fingerprint"]


def test_quarantined_video_is_released_through_the_video_checks(lake, tmp_path):
    root = tmp_path / "drop"
    root.mkdir()
    write_with_missing_timestamps(root / "gap.mp4")
    lake.ingest([root], "ds")
    (item,) = lake.sql("SELECT quarantine_id, reasons FROM quarantine", "ds").rows()
    assert item[1] == ["dropped_frames"]
    lake.branch_create("ds", "fix")
    head = lake.resolve("ds", ref="fix").version_id

    with pytest.raises(ReleaseRefused, match="dropped_frames"):
        lake.quarantine_release("ds", item[0], "fix", "the gap looks harmless")
    assert lake.resolve("ds", ref="fix").version_id == head  # refused before any write

    tolerant = _policy(tmp_path, max_dropped_events=1)
    released = lake.quarantine_release(
        "ds", item[0], "fix", "one short gap is fine here", policy=str(tolerant)
    )
    assert (released.status, released.ledger_outcome) == ("fixed", "added")
    stored = lake.sql("SELECT frames_stored, dropped_frame_events FROM videos", "ds", "fix")
    assert stored.rows() == [(stored["frames_stored"][0], 1)] and stored["frames_stored"][0] > 0
    assert lake.sql("SELECT count(*) FROM assets", "ds", "fix").item() == stored.item(0, 0)
    assert lake.sql("SELECT count(*) FROM assets", "ds").item() == 0  # main: only by publish


def test_short_clips_are_committed_together_and_a_refused_one_leaves_no_frames(lake, tmp_path):
    root = tmp_path / "clips"
    root.mkdir()
    for seed in range(6):
        write_mkv(root / f"clip_{seed}.mkv", frames=12, size=(160, 120), seed=seed)
    write_truncated_mkv(root / "clip_3_cut.mkv")  # refused (truncated), between kept clips
    report = lake.ingest([root], "ds")

    assert report.counts["added"] == 6 and report.counts["quarantined"] == 1
    per_video = dict(
        lake.sql("SELECT video_id, count(*) FROM assets GROUP BY video_id", "ds").rows()
    )
    videos = dict(lake.sql("SELECT source_uri, video_id FROM videos", "ds").rows())
    assert len(videos) == 6 and sorted(per_video) == sorted(videos.values())
    assert all(n == 12 for n in per_video.values())
    cut_id = hashlib.sha256((root / "clip_3_cut.mkv").read_bytes()).hexdigest()
    assert cut_id not in per_video
    # six clips of ~0.1 MB each: held and committed in one assets snapshot, not one per clip
    table = lake.catalog.load_table("ds.assets")
    commits = [
        s
        for s in table.metadata.snapshots
        if s.summary is not None
        and s.summary.additional_properties.get("lakehouse.ingest_id") == report.ingest_id
    ]
    assert len(commits) == 1
