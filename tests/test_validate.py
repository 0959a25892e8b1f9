"""The validate job, SQL audits and the gate checks built on them, on real Ray."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.errors import GateRefused, UsageError
from lakehouse.samples import make_jpeg
from lakehouse.validate import CHECK_NAMES, asset_checks, suspicious_fill

DEFAULT_POLICY = Path(__file__).parents[1] / "quality/policies/default.toml"


def _policy(tmp_path: Path, name: str, *replacements: tuple[str, str], extra: str = "") -> str:
    text = DEFAULT_POLICY.read_text().replace('name = "default"', f'name = "{name}"')
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text + extra)
    return str(path)


def _drop(root: Path, seeds: range, size: tuple[int, int] = (640, 480)) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (root / f"img_{seed:04d}.jpg").write_bytes(make_jpeg(seed, size=size))
    return root


def test_validate_writes_one_row_per_asset_and_check_and_is_incremental(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(3))], "ds")
    lake.branch_create("ds", "work")
    first = lake.validate("ds", "work")
    assert (first.assets_checked, first.assets_failed) == (3, 0)
    checks = lake.sql('SELECT asset_id, "check", passed, run_id FROM checks', "ds", ref="work")
    assert checks.height == 3 * len(CHECK_NAMES)
    assert set(checks["check"]) == set(CHECK_NAMES) and all(checks["passed"])

    lake.ingest([_drop(tmp_path / "b", range(3, 5))], "ds", ref="work")
    second = lake.validate("ds", "work")
    assert second.assets_checked == 2  # only what was added since the last run
    assert lake.validate("ds", "work", incremental=False).assets_checked == 5
    version = lake.resolve("ds", ref="work")
    assert version.operation == "validate"
    props = version.properties
    assert props["job"] == "validate" and props["input_snapshots"]["assets"]
    assert props["code_version"] and props["parameters"] == {"incremental": False}
    table = lake.catalog.load_table("ds.checks")
    snapshot = table.snapshot_by_id(version.snapshots["checks"])
    assert snapshot.summary.additional_properties["lakehouse.operation"] == "validate"
    with pytest.raises(UsageError, match="main changes only by publish"):
        lake.validate("ds", "main")


def test_gate_refuses_failing_validation_names_each_reason_then_override(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(1))], "ds")
    lake.branch_create("ds", "small")
    lake.ingest([_drop(tmp_path / "b", range(10, 12), size=(320, 240))], "ds", ref="small")
    strict = _policy(tmp_path, "strict", ("min_side = 32", "min_side = 400"))
    report = lake.validate("ds", "small", policy=strict)
    assert report.failures == {"too_small": 2} and report.assets_failed == 2

    with pytest.raises(GateRefused) as refused:
        lake.publish("ds", "small", "small images", policy=strict)
    assert "validation: 2 added asset(s) fail check too_small" in refused.value.reasons
    assert "2 added asset(s) fail policy 'strict': too_small" in refused.value.reasons
    version = lake.publish("ds", "small", "small images", policy=strict, override="accepted")
    assert version.properties["verdict"]["override"] == "accepted"


def test_require_validation_and_audit_thresholds_block_publish(lake, tmp_path):
    lake.ingest([_drop(tmp_path / "a", range(1))], "ds")
    lake.branch_create("ds", "new")
    lake.ingest([_drop(tmp_path / "b", range(20, 22))], "ds", ref="new")
    gated = _policy(tmp_path, "gated", ("require_validation = false", "require_validation = true"))
    with pytest.raises(GateRefused, match="never validated"):
        lake.publish("ds", "new", "msg", policy=gated)
    lake.validate("ds", "new", policy=gated)
    strict_audit = _policy(
        tmp_path,
        "audited",
        (
            "unlabelled_assets = { max_violations = -1 }",
            "unlabelled_assets = { max_violations = 0 }",
        ),
    )
    with pytest.raises(GateRefused, match="audit unlabelled_assets: 3 violating rows > 0"):
        lake.publish("ds", "new", "msg", policy=strict_audit)
    assert lake.publish("ds", "new", "validated", policy=gated).operation == "publish"


def test_asset_checks_find_damage_no_decoder_reports():
    import numpy as np

    gray = np.full((60, 80), 90, np.uint8)
    gray[-5:] = 128  # what libjpeg leaves where it could not decode
    assert suspicious_fill(gray) == 5
    assert suspicious_fill(np.random.default_rng(1).integers(0, 255, (60, 80), np.uint8)) == 0
    results = {
        c: (ok, detail)
        for c, ok, _, detail in asset_checks(
            make_jpeg(3)[:20_000], "file:///x/a.jpg", _default_image_policy()
        )
    }
    assert results["integrity"][0] is False and "truncated" in results["integrity"][1]


def _default_image_policy():
    from lakehouse.policy import load_policy

    return load_policy(DEFAULT_POLICY).image
