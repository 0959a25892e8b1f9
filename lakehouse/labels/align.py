"""Match a LabelSet to ingested images and check it: annotation rows and label problems (pure).

Matching rule, per image record of the labels (first that applies):
1. path: `image_prefix/file_name` (posix, normalised) is the path of an ingested file relative
   to the ingest root. `files` should hold every path of the root whose bytes are an asset
   (added, duplicate or already present), so the same bytes under another name still match.
2. hash: the record declares a content hash (a `sha256` or `asset_id` key, or a file name whose
   stem is 64 hex digits, as `lakehouse export` writes) and an asset with that hash is among
   `files` or in `by_hash` (assets already in the dataset, by sha256).
Otherwise its file is missing. Bounds and sizes are checked against the matched asset's size.

Problems (reason codes), what they cover, and whether the annotation row is imported:

- missing_file: an image record whose file is not found. Its annotations are dropped.
- orphan_annotation: an annotation whose image id no image record has. Dropped.
- duplicate_annotation_id: a later annotation reusing an earlier one's id. Dropped (the
  first, in file order, is kept).
- unknown_category: an annotation whose category id is not declared. Dropped.
- bbox_degenerate: a box whose width or height is <= 0. Dropped.
- bbox_out_of_bounds: a box overrunning its image by more than the tolerance. Per policy
  `out_of_bounds`: kept as written (default), clipped to the image, or dropped.
- image_size_mismatch: an image record whose declared size is not the file's. Kept.
- unlabelled_image: an ingested image no annotation covers. Nothing to drop; a record only
  when policy `missing_label` is 'error', else only counted.
- empty_category: a declared category no annotation uses. Nothing to drop; a record only
  when policy `allow_empty_categories` is false.

One problem per subject: an annotation with several faults carries all of their reasons in one
record (orphans, duplicates and the annotations of a missing image are not checked further).
`Alignment.reasons` counts subjects per reason, unlabelled images included even when they get
no record; only images under `image_prefix` (and a YOLO set's `scope`) can be unlabelled,
so labels for one folder do not call the rest of the root unlabelled. A declared size equal to
the real size transposed is not a mismatch when the image's EXIF orientation is 5-8 (the
labeller saw it rotated); its boxes are then checked against the rotated size. The image
itself always stays in `assets`.

Ids: `annotation_id` = sha256 of (label_source, source annotation id); without source ids
(YOLO) it is the sha256 of (label_source, content_sha256, n) where n numbers identical
annotations of one image. `content_sha256` covers the asset, category name and id, box,
attributes and split: re-importing a corrected file keeps the ids and changes the content
digest of exactly the edited annotations.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.labels.model import (
    BBox,
    LabelAnnotation,
    LabelImage,
    LabelSet,
    canonical_json,
    declared_sha256,
    sha256_text,
)
from lakehouse.labels.policy import LabelPolicy

MISSING_FILE = "missing_file"
UNLABELLED_IMAGE = "unlabelled_image"
BBOX_OUT_OF_BOUNDS = "bbox_out_of_bounds"
BBOX_DEGENERATE = "bbox_degenerate"
UNKNOWN_CATEGORY = "unknown_category"
DUPLICATE_ANNOTATION_ID = "duplicate_annotation_id"
IMAGE_SIZE_MISMATCH = "image_size_mismatch"
ORPHAN_ANNOTATION = "orphan_annotation"
EMPTY_CATEGORY = "empty_category"
REASONS = (
    MISSING_FILE,
    UNLABELLED_IMAGE,
    BBOX_OUT_OF_BOUNDS,
    BBOX_DEGENERATE,
    UNKNOWN_CATEGORY,
    DUPLICATE_ANNOTATION_ID,
    IMAGE_SIZE_MISMATCH,
    ORPHAN_ANNOTATION,
    EMPTY_CATEGORY,
)
# Reasons that keep an annotation out of the table (bbox_out_of_bounds: per policy).
DROPPING = frozenset(
    {MISSING_FILE, ORPHAN_ANNOTATION, DUPLICATE_ANNOTATION_ID, UNKNOWN_CATEGORY, BBOX_DEGENERATE}
)
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class FileFacts:
    """An ingested image at one path of the ingest root."""

    asset_id: str
    width: int  # stored size, as in `assets`
    height: int
    source_uri: str | None = None  # where the file was read, for unlabelled_image records
    exif_orientation: int | None = None


def display_size(facts: FileFacts) -> tuple[int, int]:
    """The size a viewer shows: width and height swapped for EXIF orientations 5-8."""
    if facts.exif_orientation in _TRANSPOSING_ORIENTATIONS:
        return facts.height, facts.width
    return facts.width, facts.height


def image_sizes(files: Mapping[str, FileFacts]) -> dict[str, tuple[int, int]]:
    """The `image_sizes` lookup `parse_yolo` wants: path -> display size."""
    return {path: display_size(facts) for path, facts in files.items()}


@dataclass(frozen=True)
class LabelProblem:
    """One faulty subject of the labels; becomes one `quarantine` row of category 'label'."""

    reasons: tuple[str, ...]
    subject: str  # 'annotation' | 'image' | 'file' | 'category'
    key: str  # what identifies the subject within the labels (position, image id, path)
    source_uri: str  # the labels file (or YOLO .txt), or the image file for unlabelled_image
    detail: str  # one line, for people
    record: Mapping[str, Any]  # the offending record(s), JSON-able: the quarantine content
    dropped: int = 0  # annotations this problem kept out of the table
    annotation_id: str | None = None  # when the subject is an annotation whose id is known
    asset_id: str | None = None


@dataclass(frozen=True)
class Alignment:
    """Rows for `annotations` (without ingest_id/created_at) and the problems found."""

    label_source: str
    rows: tuple[dict[str, Any], ...]
    problems: tuple[LabelProblem, ...]
    reasons: dict[str, int]  # subjects per reason code (unlabelled images always counted)
    unlabelled: tuple[str, ...]  # paths of ingested images no annotation covers
    categories: dict[int, str]  # declared categories, to keep with the dataset
    stats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report an ingest prints (no rows)."""
        return {
            "label_source": self.label_source,
            "annotations": len(self.rows),
            "reasons": dict(self.reasons),
            "unlabelled": len(self.unlabelled),
            **self.stats,
        }


def align(
    labels: LabelSet,
    files: Mapping[str, FileFacts],
    label_source: str,
    policy: LabelPolicy | None = None,
    *,
    by_hash: Mapping[str, FileFacts] | None = None,
    image_prefix: str = "",
    not_ingested: Mapping[str, str] | None = None,
) -> Alignment:
    """Match `labels` to `files` (keyed by posix path relative to the ingest root) and check
    them under `policy`; see the module docstring. `label_source` goes to the `source` column
    and namespaces annotation ids: keep it stable across re-imports of the same labels.
    `not_ingested` maps paths of the root that are not assets (quarantined, skipped) to why,
    so a 'missing_file' record can say the file is there but was refused."""
    return _Aligner(
        labels,
        files,
        label_source,
        policy or LabelPolicy(),
        by_hash or {},
        image_prefix,
        not_ingested or {},
    ).run()


def guess_image_prefix(labels: LabelSet, paths: Mapping[str, Any] | set[str]) -> str:
    """The directory (relative to the ingest root) under which most of the labels' file names
    exist, '' on a tie with the root: COCO files often name `x.jpg` for `train2017/x.jpg`."""
    names = {posixpath.normpath(image.file_name.lstrip("/")) for image in labels.images}
    hits: Counter[str] = Counter()
    for path in paths:
        parts = path.split("/")
        for i in range(len(parts)):
            if "/".join(parts[i:]) in names:
                hits["/".join(parts[:i])] += 1
    if not hits:
        return ""
    best = max(hits.values())
    return min((p for p, n in hits.items() if n == best), key=lambda p: (len(p), p))


def annotation_content(
    asset_id: str,
    category: str | None,
    category_id: int | None,
    bbox: BBox | None,
    attrs: Mapping[str, str | None],
    split: str | None,
) -> str:
    """The canonical text `content_sha256` is the sha256 of."""
    return canonical_json(
        {
            "asset_id": asset_id,
            "category": category,
            "category_id": category_id,
            "bbox": bbox.as_list() if bbox is not None else None,
            "attrs": dict(attrs),
            "split": split,
        }
    )


def annotation_id(label_source: str, source_id: str) -> str:
    return sha256_text(json.dumps(["id", label_source, source_id]))


def content_annotation_id(label_source: str, content_sha256: str, occurrence: int) -> str:
    return sha256_text(json.dumps(["content", label_source, content_sha256, occurrence]))


def _uri(path: str) -> str:
    try:
        return Path(path).resolve().as_uri()
    except ValueError:
        return path


def _join(prefix: str, name: str) -> str | None:
    """The root-relative posix path a label file name means, or None if it leaves the root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    path = posixpath.normpath(posixpath.join(prefix, name) if prefix else name)
    if path == ".." or path.startswith("../"):
        return None
    return path


def _declared_hash(image: LabelImage) -> str | None:
    return image.sha256 or declared_sha256(image.file_name.replace("\\", "/"))


def _fmt(value: float) -> str:
    return f"{value:g}"


class _Aligner:
    def __init__(
        self,
        labels: LabelSet,
        files: Mapping[str, FileFacts],
        label_source: str,
        policy: LabelPolicy,
        by_hash: Mapping[str, FileFacts],
        image_prefix: str,
        not_ingested: Mapping[str, str],
    ) -> None:
        self.labels, self.files, self.source, self.policy = labels, files, label_source, policy
        self.prefix = posixpath.normpath(image_prefix) if image_prefix not in ("", ".") else ""
        self.by_hash: dict[str, FileFacts] = dict(by_hash)
        for path in sorted(files):
            self.by_hash.setdefault(files[path].asset_id, files[path])
        self.labels_uri = _uri(labels.path)
        self.not_ingested = not_ingested
        self.problems: list[LabelProblem] = []
        self.rows: list[dict[str, Any]] = []
        self.stats: Counter[str] = Counter()

    def run(self) -> Alignment:
        labels = self.labels
        per_image = Counter(a.image_id for a in labels.annotations)
        matched = {image.id: self._match(image) for image in labels.images}
        images = {image.id: image for image in labels.images}
        sizes = {}
        for image in labels.images:
            facts = matched[image.id]
            if facts is None:
                self._missing(image, per_image[image.id])
            else:
                sizes[image.id] = self._size(image, facts)
        self._annotations(images, matched, sizes)
        unlabelled = self._unlabelled(matched, per_image)
        self._empty_categories()
        reasons: Counter[str] = Counter()
        for problem in self.problems:
            reasons.update(problem.reasons)
        if self.policy.missing_label == "count":
            reasons[UNLABELLED_IMAGE] += len(unlabelled)
        self.stats.update(
            images=len(labels.images),
            annotations_read=len(labels.annotations),
            annotations_dropped=sum(p.dropped for p in self.problems),
        )
        return Alignment(
            self.source,
            tuple(self.rows),
            tuple(self.problems),
            {r: reasons[r] for r in REASONS if reasons[r]},
            tuple(unlabelled),
            dict(labels.categories),
            dict(self.stats),
        )

    def _match(self, image: LabelImage) -> FileFacts | None:
        path = _join(self.prefix, image.file_name)
        if path is not None and path in self.files:
            self.stats["matched_by_path"] += 1
            return self.files[path]
        declared = _declared_hash(image)
        if declared is not None and declared in self.by_hash:
            self.stats["matched_by_hash"] += 1
            return self.by_hash[declared]
        return None

    def _missing(self, image: LabelImage, annotations: int) -> None:
        where = _join(self.prefix, image.file_name) or image.file_name
        source_uri = self.labels_uri
        if self.labels.format == "yolo":  # its file name is the image path without extension
            what = f"labels {image.record.get('labels')!r}: no ingested image {where}.*"
            source_uri = _uri(posixpath.join(self.labels.path, str(image.record.get("labels"))))
            refused = sorted(p for p in self.not_ingested if posixpath.splitext(p)[0] == where)
        else:
            what = f"image {image.id} {image.file_name!r}: no ingested file at {where!r}"
            if _declared_hash(image):
                what += f" nor with sha256 {_declared_hash(image)}"
            refused = [where] if where in self.not_ingested else []
        if refused:
            what += (
                f" ({refused[0]} is there but was not ingested: {self.not_ingested[refused[0]]})"
            )
        self._problem(
            (MISSING_FILE,),
            "image",
            image.id,
            source_uri,
            f"{what}; {annotations} annotation(s) not imported",
            {"image": image.record},
            dropped=annotations,
        )

    def _size(self, image: LabelImage, facts: FileFacts) -> tuple[int, int]:
        """The size boxes are checked against; flags a declared size that is not the real one."""
        real = (facts.width, facts.height)
        declared = (image.width, image.height)
        if image.width is None or image.height is None or declared == real:
            return real
        if declared == display_size(facts):
            return display_size(facts)
        self._problem(
            (IMAGE_SIZE_MISMATCH,),
            "image",
            image.id,
            self.labels_uri,
            f"image {image.id} {image.file_name!r} is declared {image.width}x{image.height}, "
            f"the file is {facts.width}x{facts.height}",
            {"image": image.record},
            asset_id=facts.asset_id,
        )
        return real

    def _annotations(
        self,
        images: Mapping[str, LabelImage],
        matched: Mapping[str, FileFacts | None],
        sizes: Mapping[str, tuple[int, int]],
    ) -> None:
        seen_ids: dict[str, str] = {}
        occurrences: Counter[str] = Counter()
        for ann in self.labels.annotations:
            label = (
                f"annotation {ann.id} ({ann.position})" if ann.id else f"annotation {ann.position}"
            )
            record = {"annotation": ann.record}
            if ann.id is not None and ann.id in seen_ids:
                self._annotation_problem(
                    ann,
                    (DUPLICATE_ANNOTATION_ID,),
                    f"{label}: id already used by {seen_ids[ann.id]}; not imported",
                    record,
                    dropped=True,
                    annotation_id=annotation_id(self.source, ann.id),
                )
                continue
            if ann.id is not None:
                seen_ids[ann.id] = ann.position
            image = images.get(ann.image_id)
            if image is None:
                self._annotation_problem(
                    ann,
                    (ORPHAN_ANNOTATION,),
                    f"{label}: no image record has id {ann.image_id}; not imported",
                    record,
                    dropped=True,
                )
                continue
            facts = matched[ann.image_id]
            if facts is None:
                continue  # counted by the image's missing_file record
            self._check(ann, image, facts, sizes[image.id], label, occurrences)

    def _check(
        self,
        ann: LabelAnnotation,
        image: LabelImage,
        facts: FileFacts,
        size: tuple[int, int],
        label: str,
        occurrences: Counter[str],
    ) -> None:
        reasons: list[str] = []
        notes: list[str] = []
        categories = self.labels.categories
        if self.labels.categories_declared and ann.category_id not in categories:
            reasons.append(UNKNOWN_CATEGORY)
            notes.append(f"category id {ann.category_id} is not declared")
        bbox = ann.bbox
        clipped = False
        if bbox is not None:
            width, height = size
            if not (bbox.w > 0 and bbox.h > 0):
                reasons.append(BBOX_DEGENERATE)
                notes.append(f"box {_box(bbox)} has no area")
            elif _overrun(bbox, width, height) > self.policy.bbox_tolerance:
                reasons.append(BBOX_OUT_OF_BOUNDS)
                notes.append(
                    f"box {_box(bbox)} overruns the {width}x{height} image by "
                    f"{_fmt(round(_overrun(bbox, width, height), 3))} px"
                )
                if self.policy.out_of_bounds == "clip":
                    bbox, clipped = _clip(bbox, width, height), True
        drop = bool(DROPPING.intersection(reasons)) or (
            BBOX_OUT_OF_BOUNDS in reasons
            and (self.policy.out_of_bounds == "drop" or (clipped and bbox is None))
        )
        category = categories.get(ann.category_id)
        content = annotation_content(
            facts.asset_id, category, ann.category_id, bbox, ann.attrs, image.split
        )
        content_sha = sha256_text(content)
        if ann.id is not None:
            ann_id = annotation_id(self.source, ann.id)
        else:
            ann_id = content_annotation_id(self.source, content_sha, occurrences[content_sha])
            occurrences[content_sha] += 1
        if reasons:
            outcome = "not imported" if drop else ("imported clipped" if clipped else "imported")
            self._annotation_problem(
                ann,
                tuple(reasons),
                f"{label} on {image.file_name!r}: " + "; ".join(notes) + f"; {outcome}",
                {"annotation": ann.record, "image": image.record},
                dropped=drop,
                annotation_id=ann_id,
                asset_id=facts.asset_id,
            )
        if drop:
            return
        self.rows.append(
            {
                "annotation_id": ann_id,
                "asset_id": facts.asset_id,
                "category": category,
                "category_id": ann.category_id,
                "bbox": bbox.as_dict() if bbox is not None else None,
                "attrs": dict(ann.attrs),
                "source": self.source,
                "split": image.split,
                "content_sha256": content_sha,
            }
        )

    def _unlabelled(
        self, matched: Mapping[str, FileFacts | None], per_image: Mapping[str, int]
    ) -> list[str]:
        covered = {
            facts.asset_id
            for image_id, facts in matched.items()
            if facts is not None and (per_image.get(image_id, 0) or self.policy.allow_empty_images)
        }
        scope = posixpath.join(self.prefix, self.labels.scope) if self.labels.scope else self.prefix
        scope = "" if scope in ("", ".") else scope.rstrip("/") + "/"
        unlabelled: list[str] = []
        for path in sorted(self.files):
            facts = self.files[path]
            if path.startswith(scope) and facts.asset_id not in covered:
                covered.add(facts.asset_id)  # one per asset: its first path
                unlabelled.append(path)
                if self.policy.missing_label == "error":
                    self._problem(
                        (UNLABELLED_IMAGE,),
                        "file",
                        path,
                        facts.source_uri or path,
                        f"image {path!r} has no annotation in {self.labels.path}",
                        {"path": path, "asset_id": facts.asset_id},
                        asset_id=facts.asset_id,
                    )
        return unlabelled

    def _empty_categories(self) -> None:
        if self.policy.allow_empty_categories:
            return
        used = {a.category_id for a in self.labels.annotations}
        for category_id, name in sorted(self.labels.categories.items()):
            if category_id not in used:
                self._problem(
                    (EMPTY_CATEGORY,),
                    "category",
                    str(category_id),
                    self.labels_uri,
                    f"category {category_id} {name!r} has no annotation",
                    {"category": {"id": category_id, "name": name}},
                )

    def _annotation_problem(
        self,
        ann: LabelAnnotation,
        reasons: tuple[str, ...],
        detail: str,
        record: Mapping[str, Any],
        *,
        dropped: bool,
        annotation_id: str | None = None,
        asset_id: str | None = None,
    ) -> None:
        self._problem(
            reasons,
            "annotation",
            ann.position,
            _uri(ann.origin),
            detail,
            record,
            dropped=int(dropped),
            annotation_id=annotation_id,
            asset_id=asset_id,
        )

    def _problem(
        self,
        reasons: tuple[str, ...],
        subject: str,
        key: str,
        source_uri: str,
        detail: str,
        record: Mapping[str, Any],
        *,
        dropped: int = 0,
        annotation_id: str | None = None,
        asset_id: str | None = None,
    ) -> None:
        self.problems.append(
            LabelProblem(
                reasons, subject, key, source_uri, detail, record, dropped, annotation_id, asset_id
            )
        )


def _box(bbox: BBox) -> str:
    return "[" + ", ".join(_fmt(v) for v in bbox.as_list()) + "]"


def _overrun(bbox: BBox, width: int, height: int) -> float:
    """How far (pixels) the box reaches past the nearest image edge; <= 0 inside."""
    return max(-bbox.x, -bbox.y, bbox.x + bbox.w - width, bbox.y + bbox.h - height)


def _clip(bbox: BBox, width: int, height: int) -> BBox | None:
    x0, y0 = max(bbox.x, 0.0), max(bbox.y, 0.0)
    x1, y1 = min(bbox.x + bbox.w, float(width)), min(bbox.y + bbox.h, float(height))
    if not (x1 > x0 and y1 > y0) or not all(map(math.isfinite, (x0, y0, x1, y1))):
        return None
    return BBox(x0 + 0.0, y0 + 0.0, x1 - x0, y1 - y0)
