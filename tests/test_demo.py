"""`lakehouse demo` end to end: every sample file lands with the outcome the sample promises."""

from __future__ import annotations

from collections import Counter

import pytest

from lakehouse.demo import run_demo
from lakehouse.samples import write_messy_drop

pytestmark = pytest.mark.slow


def test_demo_ingests_the_messy_drop_with_the_promised_outcomes(lake, tmp_path):
    result = run_demo(lake, directory=str(tmp_path / "drop"))
    ledger = {
        r["rel_path"]: r["outcome"]
        for r in lake.sql("SELECT rel_path, outcome FROM sources", "demo").to_dicts()
    }
    expected = write_messy_drop(tmp_path / "again")
    expected.update({"clips/pan.mp4": ("added",), "clips/pan_cut.mp4": ("quarantined",)})
    assert result["files"] == len(expected) == len(ledger)
    assert ledger == {rel: outcome[0] for rel, outcome in expected.items()}
    counts = {outcome: n for outcome, n in result["ingest"]["counts"].items() if n}
    assert counts == dict(Counter(ledger.values()))
    frames = lake.sql("SELECT count(*) FROM assets WHERE kind = 'frame'", "demo").item()
    assert frames == 30 and "pan.mp4" in result["text"] and "unreadable_container" in result["text"]
