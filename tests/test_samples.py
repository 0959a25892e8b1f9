"""Sample factory: bundled photos, distinct JPEGs, and a messy drop whose outcomes are right."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import numpy as np

from lakehouse import samples
from lakehouse.media.formats import MEDIA_EXTENSIONS, is_junk_name, sniff
from lakehouse.media.inspect import inspect_image
from lakehouse.policy import load_policy

DEFAULT = load_policy(Path(__file__).parents[1] / "quality/policies/default.toml").image


def test_photos_are_bundled_rgb():
    found = samples.photos()
    assert len(found) >= 6
    for _, rgb in found:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert not rgb.flags.writeable
    assert samples.photos() is found  # cached


def test_make_jpeg_is_deterministic_and_distinct():
    blobs = [samples.make_jpeg(seed) for seed in range(24)]
    assert samples.make_jpeg(3) == blobs[3]
    assert len({hashlib.sha256(b).digest() for b in blobs}) == len(blobs)
    sizes = sorted(len(b) for b in blobs)
    assert 40_000 < sizes[len(sizes) // 2] < 100_000
    assert samples.make_rgb(3, (100, 50)).shape == (50, 100, 3)


def test_case_names_unique():
    names = [case.name for case in samples.CASES]
    assert len(names) == len(set(names))


def test_messy_drop(tmp_path):
    expected = samples.write_messy_drop(tmp_path, n_good=8)
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(expected) == on_disk
    outcomes = [outcome for outcome, _, _ in expected.values()]
    for kind in ("added", "duplicate", "quarantined", "skipped"):
        assert kind in outcomes
    first_of: dict[bytes, str] = {}
    for rel in sorted(expected):
        outcome, category, reasons = expected[rel]
        data = (tmp_path / rel).read_bytes()
        if outcome == "skipped":
            suffix = PurePosixPath(rel).suffix.lower()
            assert is_junk_name(rel) or (suffix not in MEDIA_EXTENSIONS and sniff(data) is None)
            continue
        digest = hashlib.sha256(data).digest()
        if digest in first_of:  # a later copy: duplicate of an added file, or quarantined alike
            assert expected[first_of[digest]][0] in ("added", "quarantined")
            continue
        first_of[digest] = rel
        verdict = inspect_image(data, rel, DEFAULT)
        assert (verdict.category, frozenset(verdict.reasons)) == (category, reasons), rel
        assert outcome == ("added" if category is None else "quarantined"), rel


def test_messy_drop_copy_rules(tmp_path):
    expected = samples.write_messy_drop(tmp_path)
    # "IMG_1000 (1).jpg" sorts before "IMG_1000.jpg": the copy is added, the original duplicate
    assert expected["2024-05-01/cam_a/IMG_1000 (1).jpg"][0] == "added"
    assert expected["2024-05-01/cam_a/IMG_1000.jpg"] == ("duplicate", None, frozenset())
    assert expected["backup/IMG_1000.jpg"][0] == "duplicate"
    assert expected["backup/IMG_2001.jpg"] == expected["2024-05-02/IMG_2001.jpg"]
    assert expected["backup/IMG_2001.jpg"] == ("quarantined", "corrupt", frozenset({"truncated"}))
    assert expected["misc/empty.jpg"] == ("quarantined", "corrupt", frozenset({"empty_file"}))
    assert expected["misc/readme.jpg"] == ("quarantined", "corrupt", frozenset({"not_an_image"}))
    assert expected["notes.txt"] == ("skipped", None, frozenset())
    assert expected["scans/page_0001"][2] == frozenset({"extension_mismatch"})
    assert sum(outcome == "added" for outcome, _, _ in expected.values()) == 12 + 5
