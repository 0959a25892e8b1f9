"""Glue between an ingest and `align` (pure): the facts of a root from its ledger and asset
rows, and what a re-import changes in the `annotations` already stored for a label source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lakehouse.labels.align import Alignment, FileFacts

# Ledger outcomes whose bytes are an asset (the others are refused or not media).
ASSET_OUTCOMES = frozenset({"added", "duplicate", "already_present"})


def file_facts(
    sources: Iterable[Mapping[str, Any]], assets: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, FileFacts], dict[str, str]]:
    """`(files, not_ingested)` for `align` from the `sources` rows of one root (`rel_path`,
    `source_uri`, `outcome`, `asset_id`, `detail`) and the `assets` rows of their asset ids
    (`width`, `height`, `exif_orientation`), by asset id. Files that are not assets map to why.
    """
    files: dict[str, FileFacts] = {}
    not_ingested: dict[str, str] = {}
    for row in sources:
        rel = row["rel_path"]
        if row["outcome"] in ASSET_OUTCOMES and row.get("asset_id"):
            asset = assets.get(row["asset_id"])
            if asset is None:
                raise LookupError(f"asset {row['asset_id']} of {rel!r} is not among the assets")
            files[rel] = FileFacts(
                row["asset_id"],
                int(asset["width"]),
                int(asset["height"]),
                row.get("source_uri"),
                asset.get("exif_orientation"),
            )
        else:
            detail = row.get("detail")
            not_ingested[rel] = row["outcome"] + (f": {detail}" if detail else "")
    return files, not_ingested


@dataclass(frozen=True)
class LabelChanges:
    """A re-import against the rows stored for the same label source, by annotation id."""

    unchanged: tuple[str, ...]
    edited: tuple[str, ...]  # same id, different content_sha256
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def to_delete(self) -> tuple[str, ...]:
        """Stored annotation ids to delete (edited rows are deleted, then appended anew)."""
        return self.edited + self.removed

    def rows_to_append(self, alignment: Alignment) -> list[dict[str, Any]]:
        wanted = set(self.edited) | set(self.added)
        return [row for row in alignment.rows if row["annotation_id"] in wanted]

    def to_dict(self) -> dict[str, int]:
        return {
            "unchanged": len(self.unchanged),
            "edited": len(self.edited),
            "added": len(self.added),
            "removed": len(self.removed),
        }


def label_changes(existing: Mapping[str, str], alignment: Alignment) -> LabelChanges:
    """Compare `existing` (annotation_id -> content_sha256 of the stored rows whose `source` is
    `alignment.label_source`) with the new rows. Ids keep file order; removed ones sort."""
    new = {row["annotation_id"]: row["content_sha256"] for row in alignment.rows}
    unchanged = tuple(i for i, c in new.items() if existing.get(i) == c)
    edited = tuple(i for i, c in new.items() if i in existing and existing[i] != c)
    added = tuple(i for i in new if i not in existing)
    removed = tuple(sorted(i for i in existing if i not in new))
    return LabelChanges(unchanged, edited, added, removed)
