"""`verify_version` on a real catalog: clean versions pass, and damage on disk is found exactly.

One dataset is ingested per module (a messy drop, then a few more photos: two versions, two
data files); every test that damages a data file restores it afterwards.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow.parquet as pq
import pytest
from pyiceberg.expressions import EqualTo

from lakehouse import Lakehouse, Settings
from lakehouse.control import Version
from lakehouse.samples import make_jpeg, write_messy_drop
from lakehouse.verify import Mismatch, verify_version

EXTRA_SEEDS = (7001, 7002, 7003)


@dataclasses.dataclass(frozen=True)
class Ingested:
    """A dataset `street` ingested twice: `first` holds the messy drop, `second` adds `extra`."""

    lake: Lakehouse
    originals: dict[str, bytes]  # asset_id -> bytes of every asset in `second`
    extra_ids: frozenset[str]
    first: Version
    second: Version


def ingest_two_drops(root: Path) -> Ingested:
    lake = Lakehouse(Settings.embedded(root / "home"))
    expected = write_messy_drop(root / "drop")
    lake.ingest([root / "drop"], "street")
    first = lake.resolve("street")
    (root / "extra").mkdir()
    extra = {seed: make_jpeg(seed) for seed in EXTRA_SEEDS}
    for seed, data in extra.items():
        (root / "extra" / f"IMG_{seed}.jpg").write_bytes(data)
    lake.ingest([root / "extra"], "street")
    added = [(root / "drop" / rel).read_bytes() for rel, e in expected.items() if e[0] == "added"]
    originals = {hashlib.sha256(d).hexdigest(): d for d in [*added, *extra.values()]}
    extra_ids = frozenset(hashlib.sha256(d).hexdigest() for d in extra.values())
    return Ingested(lake, originals, extra_ids, first, lake.resolve("street"))


def local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path))


def data_file_paths(lake: Lakehouse, version: Version) -> list[str]:
    table = lake.catalog.load_table(f"{version.dataset}.assets")
    scan = table.scan(snapshot_id=version.snapshots["assets"])
    return sorted(task.file.file_path for task in scan.plan_files())


def locate(lake: Lakehouse, version: Version, asset_id: str) -> tuple[str, int]:
    """(data file, row) holding `asset_id`, read the plain way."""
    for path in data_file_paths(lake, version):
        ids = pq.read_table(local_path(path), columns=["asset_id"]).column(0).to_pylist()
        if asset_id in ids:
            return path, ids.index(asset_id)
    raise AssertionError(f"{asset_id} is in no data file")


@contextmanager
def damaged(path: Path, damage: Callable[[bytes], bytes]) -> Iterator[None]:
    """Replace the file's bytes by `damage(bytes)` for the duration of the block."""
    original = path.read_bytes()
    path.write_bytes(damage(original))
    try:
        yield
    finally:
        path.write_bytes(original)


def flip_inside(content: bytes) -> Callable[[bytes], bytes]:
    """A damage that flips one byte in the middle of `content` where it is stored in a file."""

    def flip(data: bytes) -> bytes:
        assert data.count(content) == 1
        start = data.index(content)
        flipped = bytearray(data)
        flipped[start + len(content) // 2] ^= 0x01
        return bytes(flipped)

    return flip


def flipped(content: bytes) -> bytes:
    return flip_inside(content)(content)


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory, ray_cluster: None) -> Ingested:
    return ingest_two_drops(tmp_path_factory.mktemp("verify"))


def test_clean_versions_verify_with_their_recorded_fingerprint(street):
    report = verify_version(street.lake.catalog, street.second)
    assert report.ok and report.mismatches == []
    assert report.assets == len(street.originals) == street.second.properties["asset_count"]
    assert report.bytes == sum(len(d) for d in street.originals.values())
    assert report.files == 2
    assert report.fingerprint_actual == report.fingerprint_expected
    assert report.fingerprint_expected == street.second.properties["fingerprint"]
    assert report.to_dict()["ok"] is True

    older = verify_version(street.lake.catalog, street.first, threads=1)
    assert older.ok and older.files == 1
    assert older.assets == len(street.originals) - len(street.extra_ids)
    assert older.fingerprint_actual == street.first.properties["fingerprint"]

    created = street.lake.resolve("street", version_id=street.first.parent_id)
    empty = verify_version(street.lake.catalog, created)
    assert empty.ok and (empty.assets, empty.files, empty.fingerprint_expected) == (0, 0, None)


def test_a_flipped_byte_reads_back_silently_but_verify_names_the_asset(street):
    asset_id = min(street.extra_ids)
    content = street.originals[asset_id]
    data_file, row = locate(street.lake, street.second, asset_id)
    progress: list[int] = []
    with damaged(local_path(data_file), flip_inside(content)):
        table = street.lake.catalog.load_table("street.assets")
        scan = table.scan(
            row_filter=EqualTo("asset_id", asset_id), snapshot_id=street.second.snapshots["assets"]
        )
        assert scan.to_arrow().column("content").to_pylist() == [flipped(content)]  # no error

        report = verify_version(street.lake.catalog, street.second, on_progress=progress.append)

    actual = hashlib.sha256(flipped(content)).hexdigest()
    assert report.mismatches == [Mismatch(asset_id, data_file, row, actual, "sha256_mismatch")]
    assert not report.ok
    assert report.assets == sum(progress) == len(street.originals)
    assert report.fingerprint_actual == report.fingerprint_expected  # ids are intact


def test_a_truncated_data_file_is_reported_and_the_others_still_verified(street):
    damaged_file, _ = locate(street.lake, street.second, min(street.extra_ids))
    [intact_file] = set(data_file_paths(street.lake, street.second)) - {damaged_file}
    with damaged(local_path(damaged_file), lambda data: data[: len(data) // 2]):
        report = verify_version(street.lake.catalog, street.second)

    [problem] = report.mismatches
    assert (problem.asset_id, problem.data_file, problem.problem) == (
        "",
        damaged_file,
        "unreadable_file",
    )
    assert problem.actual_sha256 is None and "footer" in problem.detail
    rows_intact = pq.read_metadata(local_path(intact_file)).num_rows
    assert report.assets == rows_intact and not report.ok
    assert report.fingerprint_actual != report.fingerprint_expected


def test_a_damaged_page_header_is_reported_not_raised(street):
    data_file = data_file_paths(street.lake, street.first)[0]
    column = pq.read_metadata(local_path(data_file)).row_group(0).column(1)
    assert column.path_in_schema == "content"
    first_page = column.dictionary_page_offset or column.data_page_offset

    def garble(data: bytes) -> bytes:
        return data[:first_page] + b"\xff" * 16 + data[first_page + 16 :]

    with damaged(local_path(data_file), garble):
        report = verify_version(street.lake.catalog, street.second)

    [problem] = report.mismatches
    assert (problem.asset_id, problem.data_file, problem.row, problem.problem) == (
        "",
        data_file,
        0,
        "unreadable_file",
    )
    assert "row group 0" in problem.detail
    assert report.assets == len(street.extra_ids)  # the other data file


def test_a_duplicate_row_is_reported_with_both_places(street):
    table = street.lake.catalog.load_table("street.assets")
    head = street.second.snapshots["assets"]
    asset_id = min(street.extra_ids)
    row = table.scan(row_filter=EqualTo("asset_id", asset_id), snapshot_id=head).to_arrow()
    table.manage_snapshots().create_branch(head, "test-duplicate").commit()
    table.append(row, branch="test-duplicate")
    copy_head = table.refresh().metadata.refs["test-duplicate"].snapshot_id
    version = dataclasses.replace(street.second, snapshots={"assets": copy_head})

    report = verify_version(street.lake.catalog, version)

    [copy_file] = set(data_file_paths(street.lake, version)) - set(
        data_file_paths(street.lake, street.second)
    )
    first, second = sorted([locate(street.lake, street.second, asset_id), (copy_file, 0)])
    assert report.mismatches == [
        Mismatch(
            asset_id, *second, None, "duplicate_row", "same asset_id as {} row {}".format(*first)
        )
    ]
    assert report.assets == len(street.originals) + 1 and report.files == 3
    assert report.fingerprint_actual != report.fingerprint_expected and not report.ok
