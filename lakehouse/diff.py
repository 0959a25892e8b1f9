"""Differences between two dataset versions, from metadata columns only (never image bytes)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse import tables as iceberg
from lakehouse.control import Version
from lakehouse.history import added_files, read_columns
from lakehouse.schema import ANNOTATIONS, ASSETS, QUARANTINE, SOURCES, VIDEOS


@dataclass
class VersionDiff:
    dataset: str
    from_version: int
    to_version: int
    added: list[str]
    removed: list[str]
    media_types: dict[str, dict[str, int]]  # media type -> {"added": n, "removed": n}
    ledger: dict[str, int]  # outcome -> ledger rows gained (negative: lost)
    quarantine: dict[str, int]  # "category/reason" -> open items gained (negative: lost)
    annotations: dict[str, dict[str, int]]  # category -> {"added": n, "removed": n}
    videos: dict[str, int] = field(default_factory=dict)  # container -> videos gained (lost < 0)

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "assets_added": len(self.added),
            "assets_removed": len(self.removed),
            "added": self.added[:limit],
            "removed": self.removed[:limit],
            "media_types": self.media_types,
            "ledger_outcomes": self.ledger,
            "quarantine": self.quarantine,
            "annotations": self.annotations,
            "videos": self.videos,
        }


def diff_versions(catalog: Catalog, old: Version, new: Version) -> VersionDiff:
    """What `new` has that `old` has not, and the reverse.

    Works on the data files that differ between the two snapshots; rows of a file that was
    only rewritten (compaction) appear on both sides and cancel out.
    """
    tables = iceberg.load_tables(catalog, old.dataset)
    assets = tables[ASSETS]
    gained = {
        r["asset_id"]: r["media_type"]
        for r in _changed_rows(assets, new.snapshots[ASSETS], old.snapshots[ASSETS])
    }
    lost = {
        r["asset_id"]: r["media_type"]
        for r in _changed_rows(assets, old.snapshots[ASSETS], new.snapshots[ASSETS])
    }
    added = sorted(set(gained) - set(lost))
    removed = sorted(set(lost) - set(gained))
    added_types = Counter(gained[i] for i in added)
    removed_types = Counter(lost[i] for i in removed)
    media = {
        media_type: {
            "added": added_types.get(media_type, 0),
            "removed": removed_types.get(media_type, 0),
        }
        for media_type in sorted(set(added_types) | set(removed_types))
    }
    return VersionDiff(
        dataset=old.dataset,
        from_version=old.version_id,
        to_version=new.version_id,
        added=added,
        removed=removed,
        media_types=media,
        ledger=_count_delta(
            tables[SOURCES], old, new, SOURCES, lambda r: r["outcome"], ["outcome"]
        ),
        annotations=_annotation_delta(tables[ANNOTATIONS], old, new),
        videos=_count_delta(
            tables[VIDEOS], old, new, VIDEOS, lambda r: r["container"], ["container"]
        ),
        quarantine=_count_delta(
            tables[QUARANTINE],
            old,
            new,
            QUARANTINE,
            lambda r: (
                [f"{r['category']}/{reason}" for reason in r["reasons"]]
                if r["status"] == "open"
                else []
            ),
            ["category", "reasons", "status"],
        ),
    )


def _annotation_delta(table: Table, old: Version, new: Version) -> dict[str, dict[str, int]]:
    """Annotation rows gained and lost per category; an edited label counts as one of each."""
    columns = ["annotation_id", "content_sha256", "category"]
    sides = {}
    for side, head, base in (("added", new, old), ("removed", old, new)):
        rows = {}
        if head.snapshots[ANNOTATIONS] != base.snapshots[ANNOTATIONS]:
            files = added_files(table, head.snapshots[ANNOTATIONS], base.snapshots[ANNOTATIONS])
            for batch in read_columns(table, files, columns):
                rows.update(
                    {
                        (r["annotation_id"], r["content_sha256"]): r["category"]
                        for r in batch.to_pylist()
                    }
                )
        sides[side] = rows
    added = {k: c for k, c in sides["added"].items() if k not in sides["removed"]}
    removed = {k: c for k, c in sides["removed"].items() if k not in sides["added"]}
    delta: dict[str, dict[str, int]] = {}
    for side, rows in (("added", added), ("removed", removed)):
        for category in rows.values():
            entry = delta.setdefault(category or "(none)", {"added": 0, "removed": 0})
            entry[side] += 1
    return dict(sorted(delta.items()))


def _changed_rows(table: Table, snapshot: int, base: int) -> list[dict[str, Any]]:
    if snapshot == base:
        return []
    files = added_files(table, snapshot, base)
    return [
        row
        for batch in read_columns(table, files, ["asset_id", "media_type"])
        for row in batch.to_pylist()
    ]


def _count_delta(
    table: Table, old: Version, new: Version, name: str, key: Any, columns: list[str]
) -> dict[str, int]:
    delta: Counter[str] = Counter()
    for sign, head, base in ((1, new, old), (-1, old, new)):
        if head.snapshots[name] == base.snapshots[name]:
            continue
        files = added_files(table, head.snapshots[name], base.snapshots[name])
        for batch in read_columns(table, files, columns):
            for row in batch.to_pylist():
                keys = key(row)
                for k in [keys] if isinstance(keys, str) else keys:
                    delta[k] += sign
    return {k: v for k, v in sorted(delta.items()) if v}
