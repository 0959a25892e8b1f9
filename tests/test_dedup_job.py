"""`lakehouse dedup` end to end: near duplicates found across ingests, incremental runs,
exact copies from the ledger, and the publish gate's freshness check."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from lakehouse.errors import GateRefused
from lakehouse.samples import make_jpeg, make_rgb

DEFAULT_POLICY = Path(__file__).parents[1] / "quality/policies/default.toml"


def _reencode(seed: int, quality: int, scale: float = 1.0) -> bytes:
    image = Image.fromarray(make_rgb(seed))
    if scale != 1.0:
        image = image.resize((int(640 * scale), int(480 * scale)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_dedup_finds_reencodes_and_resizes_and_is_incremental(lake, tmp_path):
    originals = tmp_path / "originals"
    originals.mkdir()
    for seed in (1, 2, 3):
        (originals / f"o{seed}.jpg").write_bytes(make_jpeg(seed))
    (originals / "copy_of_o1.jpg").write_bytes((originals / "o1.jpg").read_bytes())
    lake.ingest([originals], "ds")
    lake.branch_create("ds", "new")
    variants = tmp_path / "variants"
    variants.mkdir()
    (variants / "o1_q70.jpg").write_bytes(_reencode(1, 70))
    (variants / "o2_half.jpg").write_bytes(_reencode(2, 90, scale=0.5))
    (variants / "other.jpg").write_bytes(make_jpeg(99))
    lake.ingest([variants], "ds", ref="new")

    result = lake.dedup("ds", "new", incremental=False)
    pairs = lake.sql(
        "SELECT asset_id, duplicate_of, distance, method FROM duplicates", "ds", ref="new"
    )
    near = pairs.filter(pairs["method"] != "exact")
    sources = dict(lake.sql("SELECT rel_path, asset_id FROM sources", "ds", ref="new").rows())
    found = {(r["asset_id"], r["duplicate_of"]) for r in near.to_dicts()}
    assert (sources["o1_q70.jpg"], sources["o1.jpg"]) in found
    assert (sources["o2_half.jpg"], sources["o2.jpg"]) in found
    assert not any(sources["other.jpg"] in pair for pair in found)
    exact = pairs.filter(pairs["method"] == "exact")
    assert exact["asset_id"].to_list() == [sources["o1.jpg"]]
    assert result["exact_duplicates"] == 1

    again = lake.dedup("ds", "new")  # incremental: nothing new since the last run
    assert again["new_assets"] == 0 and again["rows"] == 0


def test_gate_refuses_stale_dedup_results(lake, tmp_path):
    first = tmp_path / "a"
    first.mkdir()
    (first / "a.jpg").write_bytes(make_jpeg(5))
    lake.ingest([first], "ds")
    lake.branch_create("ds", "b")
    lake.dedup("ds", "b")
    more = tmp_path / "b"
    more.mkdir()
    (more / "b.jpg").write_bytes(make_jpeg(6))
    lake.ingest([more], "ds", ref="b")
    with pytest.raises(GateRefused, match="older than the branch head"):
        lake.publish("ds", "b", "msg")
    lake.dedup("ds", "b")
    assert lake.publish("ds", "b", "deduplicated").operation == "publish"
