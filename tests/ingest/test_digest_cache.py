"""Files unchanged since an earlier ingest hashed them are not read again; any change is seen.

Real files, real catalog, real Ray. A digest is only remembered for a file whose last change
is older than `RACY_NS` when it is read, so the end-to-end tests age their files by sleeping
past it once (ctime cannot be set back).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from lakehouse import Lakehouse
from lakehouse.ingest.digests import RACY_NS, rememberable
from lakehouse.ingest.walk import FileStamp
from lakehouse.samples import make_jpeg

NOW = 1_800_000_000 * 10**9
OLD = FileStamp(size=10, mtime_ns=NOW - 60 * 10**9, ctime_ns=NOW - 60 * 10**9, inode=7, device=1)


def test_a_digest_is_rememberable_only_if_the_file_held_still_and_was_not_just_changed():
    assert rememberable(OLD, OLD, NOW)
    changed_while_read = FileStamp(10, OLD.mtime_ns, NOW - 10**6, 7, 1)
    assert not rememberable(OLD, changed_while_read, NOW)
    assert not rememberable(None, OLD, NOW)  # walked without a stamp
    just_changed = FileStamp(10, NOW - 1000, NOW - 1000, 7, 1)
    assert not rememberable(just_changed, just_changed, NOW)  # same tick as a later write?
    settled = FileStamp(10, NOW - RACY_NS, NOW - RACY_NS, 7, 1)
    assert rememberable(settled, settled, NOW)


@pytest.fixture
def aged_drop(tmp_path: Path) -> Path:
    """Six JPEGs, one corrupt, and a text file, all last changed more than RACY_NS ago."""
    root = tmp_path / "drop"
    root.mkdir()
    for seed in range(5):
        (root / f"img_{seed}.jpg").write_bytes(make_jpeg(seed))
    (root / "bad.jpg").write_bytes(make_jpeg(9)[:-400])  # truncated
    (root / "notes.txt").write_text("shot on tuesday\n")
    time.sleep(RACY_NS / 1e9 + 0.2)
    return root


def test_unchanged_files_are_not_read_again_and_every_change_is_seen(lake: Lakehouse, aged_drop):
    first = lake.ingest([aged_drop], "ds")
    assert first.files_hashed == first.files == 7
    assert first.counts["added"] == 5 and first.counts["quarantined"] == 1

    again = lake.ingest([aged_drop], "ds")
    assert again.files_hashed == 0
    assert again.counts["already_present"] == 5 and again.counts["quarantined"] == 1
    assert again.counts["skipped"] == 1  # notes.txt is still known as not media

    # same size, same mtime, new bytes: the ctime moved, so the file is read again
    target = aged_drop / "img_0.jpg"
    data = bytearray(target.read_bytes())
    data[-3] ^= 0xFF  # inside the entropy-coded data, before EOI
    info = target.stat()
    target.write_bytes(bytes(data))
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert target.stat().st_size == info.st_size and target.stat().st_mtime_ns == info.st_mtime_ns
    changed = lake.ingest([aged_drop], "ds")
    assert changed.files_hashed == 1
    assert changed.counts["already_present"] == 4
    row = lake.sql(
        "SELECT outcome, asset_id, quarantine_id FROM sources "
        f"WHERE ingest_id = '{changed.ingest_id}' AND rel_path = 'img_0.jpg'",
        "ds",
    ).to_dicts()[0]
    assert row["outcome"] in ("added", "quarantined")
    if row["outcome"] == "added":
        assert row["asset_id"] == hashlib.sha256(bytes(data)).hexdigest()

    # another file moved into a known path (new inode) is read too
    replacement = aged_drop.parent / "replacement.jpg"
    replacement.write_bytes(make_jpeg(42))
    replacement.replace(aged_drop / "img_1.jpg")
    moved = lake.ingest([aged_drop], "ds")
    # img_1 (new inode), and img_0 again: it was read within RACY_NS of its rewrite
    assert moved.files_hashed == 2 and moved.counts["added"] == 1

    # --rehash reads everything
    assert lake.ingest([aged_drop], "ds", rehash=True).files_hashed == 7


def test_files_known_by_stamp_but_not_stored_here_are_read_for_their_workers(
    lake: Lakehouse, aged_drop
):
    """Digests are remembered per host and path, not per dataset: the same tree into a
    second dataset is known by stamp, yet its bytes must be read to be inspected and stored."""
    lake.ingest([aged_drop], "a")
    other = lake.ingest([aged_drop], "b")
    assert other.counts["added"] == 5 and other.counts["quarantined"] == 1
    assert other.files_hashed == 6  # the images, again; notes.txt is still known as not media
    assets = lake.sql("SELECT asset_id, content FROM assets", "b").to_dicts()
    assert len(assets) == 5
    assert all(hashlib.sha256(a["content"]).hexdigest() == a["asset_id"] for a in assets)


def test_files_changed_just_before_the_ingest_are_hashed_every_time(lake: Lakehouse, tmp_path):
    root = tmp_path / "fresh"
    root.mkdir()
    lake.ingest([root], "ds")  # the dataset exists: the next ingest reads the files at once
    for seed in range(3):
        (root / f"{seed}.jpg").write_bytes(make_jpeg(seed))
    assert lake.ingest([root], "ds").files_hashed == 3  # read well within RACY_NS of writing
    again = lake.ingest([root], "ds")
    assert again.files_hashed == 3 and again.counts["already_present"] == 3


def test_quarantined_bytes_are_the_file_bytes(lake: Lakehouse, aged_drop):
    report = lake.ingest([aged_drop], "ds")
    (content,) = lake.sql("SELECT content FROM quarantine", "ds")["content"].to_list()
    assert content == (aged_drop / "bad.jpg").read_bytes()
    assets = lake.sql("SELECT asset_id, content FROM assets", "ds").to_dicts()
    assert len(assets) == report.counts["added"] == 5
    assert all(hashlib.sha256(a["content"]).hexdigest() == a["asset_id"] for a in assets)


def test_maintain_forgets_digests_of_deleted_and_changed_files(lake: Lakehouse, aged_drop):
    lake.ingest([aged_drop], "ds")
    (aged_drop / "img_3.jpg").unlink()
    os.utime(aged_drop / "img_4.jpg")  # a touch moves the ctime
    assert lake.maintain("ds").forgotten_digests == 2
    assert lake.maintain("ds").forgotten_digests == 0
    again = lake.ingest([aged_drop], "ds")
    assert again.files_hashed == 1  # img_4 only; the other five are still known
