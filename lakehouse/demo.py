"""`lakehouse demo`: the main job on a messy sample drop made from photos bundled in wheels."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lakehouse.api import Lakehouse
from lakehouse.output import frame_records
from lakehouse.samples import write_messy_drop
from lakehouse.samples_video import SMALL, write_mp4, write_truncated_mp4

_SAMPLE_QUERY = (
    "SELECT media_type, count(*) AS assets, sum(byte_size) AS bytes, "
    "min(width) AS min_width, max(width) AS max_width FROM assets GROUP BY 1 ORDER BY 1"
)


def run_demo(lh: Lakehouse, dataset: str = "demo", directory: str | None = None) -> dict[str, Any]:
    """Write a sample drop, ingest it, and summarise what happened (counts, reasons, a query)."""
    drop = Path(directory) if directory else lh.settings.home / "demo-drop"
    if drop.exists():
        shutil.rmtree(drop)
    expected = write_messy_drop(drop)
    expected.update(_write_clips(drop / "clips"))
    report = lh.ingest([drop], dataset, attrs={"source": "lakehouse-demo"}, message="demo drop")
    by_media = lh.sql(_SAMPLE_QUERY, dataset)
    quarantine = lh.sql(
        "SELECT source_uri, category, reasons FROM quarantine ORDER BY source_uri", dataset
    )
    lines = [
        f"sample drop: {drop} ({len(expected)} files, made from photos bundled in "
        "scikit-image / scikit-learn)",
        f"ingested into dataset {dataset!r} as version {report.version_id} "
        f"in {report.seconds:.1f} s:",
        *(f"  {outcome:16} {n}" for outcome, n in report.counts.items()),
        "quarantined, with reasons:",
        *(
            f"  {Path(r['source_uri']).name:28} {r['category']:8} {', '.join(r['reasons'])}"
            for r in quarantine.to_dicts()
        ),
        f'> lakehouse sql "{_SAMPLE_QUERY}" --dataset {dataset}',
        str(by_media),
        f'next: lakehouse sql "SELECT outcome, count(*) FROM sources GROUP BY 1" '
        f"--dataset {dataset}",
    ]
    videos = lh.sql("SELECT source_uri, codec, frames_decoded, frames_stored FROM videos", dataset)
    lines[-3:-3] = [
        "videos (frames stored as assets of kind 'frame'):",
        *(
            f"  {Path(r['source_uri']).name:28} {r['codec']:8} {r['frames_decoded']} decoded, "
            f"{r['frames_stored']} stored"
            for r in videos.to_dicts()
        ),
    ]
    return {
        "drop": str(drop),
        "files": len(expected),
        "ingest": report.to_dict(),
        "quarantine": frame_records(quarantine),
        "assets_by_media_type": frame_records(by_media),
        "text": "\n".join(lines),
    }


def _write_clips(folder: Path) -> dict[str, tuple[str, str | None, frozenset[str]]]:
    """A short camera pan and the same clip cut before its index: one kept, one refused."""
    folder.mkdir(parents=True)
    write_mp4(folder / "pan.mp4", frames=30, size=SMALL)
    write_truncated_mp4(folder / "pan_cut.mp4", index_at="end", frames=30)
    return {
        "clips/pan.mp4": ("added", None, frozenset()),
        "clips/pan_cut.mp4": ("quarantined", "corrupt", frozenset({"unreadable_container"})),
    }
