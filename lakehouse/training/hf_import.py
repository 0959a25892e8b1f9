"""A Hugging Face dataset into a lakehouse dataset, through the same ingest checks and ledger.

Nothing is trusted because it came from a hub: every image is written as a file into a staging
directory and ingested with `Lakehouse.ingest`, so corrupt images end quarantined with their
reasons, duplicates are recorded, and the ledger accounts for every row. File names come from an
id column (or the row number) and the extension from the bytes' magic numbers. Labels (an
`annotations`/`objects` column of {category, bbox} or a `label` column) are written as a COCO
file beside the images and imported by the same ingest (`ingest --labels`), so they get the
label checks too. Each image record also carries the sha256 of its bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa

from lakehouse.api import Lakehouse
from lakehouse.config import Settings
from lakehouse.errors import UsageError
from lakehouse.export import EXTENSIONS
from lakehouse.ingest.run import IngestReport
from lakehouse.media import MEDIA_EXTENSIONS, sniff

ID_COLUMNS = ("asset_id", "image_id", "id")
BOX_COLUMNS = ("annotations", "objects")
CLASS_COLUMNS = ("label", "category")
# Bytes an Image column declares an image but no magic number names: staged under this
# extension they are inspected, and quarantined as 'not_an_image', rather than skipped.
_UNKNOWN_IMAGE_SUFFIX = ".jpg"


@dataclass
class HFImportReport:
    ingest: IngestReport  # its `labels` says what became of the labels
    rows: int  # rows of the HF dataset, each staged as one file
    labels: int  # label records found in the rows and handed to the ingest

    def to_dict(self) -> dict[str, Any]:
        return {**self.ingest.to_dict(), "rows": self.rows, "labels_staged": self.labels}


@dataclass(frozen=True)
class Staged:
    images: Path
    labels: Path | None  # COCO file, when the dataset had labels
    rows: int
    annotations: int


def from_hf_dataset(
    hf: datasets.Dataset | datasets.DatasetDict,
    dataset: str,
    lake: Lakehouse | None = None,
    *,
    ref: str = "main",
    image_column: str = "image",
    id_column: str | None = None,
    message: str | None = None,
    label_source: str | None = None,
    settings: Settings | None = None,
) -> HFImportReport:
    """Ingest every image of `hf` (every split of a DatasetDict) and its labels into `dataset`
    at `ref`. `label_source` names the labels (default `huggingface:<dataset>`): importing
    again under the same name updates them rather than adding a second copy."""
    lake = lake or Lakehouse.open(settings)
    with tempfile.TemporaryDirectory(prefix="lakehouse-import-hf-") as scratch:
        staged = stage(hf, Path(scratch), image_column, id_column)
        report = lake.ingest(
            [staged.images],
            dataset,
            ref=ref,
            attrs={"imported_from": "huggingface"},
            message=message or f"import {staged.rows} rows from a Hugging Face dataset",
            labels=staged.labels,
            label_source=label_source or f"huggingface:{dataset}",
            labels_prefix="",
        )
    return HFImportReport(report, staged.rows, staged.annotations)


def import_hf(path: str | Path, dataset: str, **options: Any) -> HFImportReport:
    """`from_hf_dataset` of a dataset saved with `save_to_disk` (e.g. by `export_hf`)."""
    return from_hf_dataset(datasets.load_from_disk(str(path)), dataset, **options)


def stage(
    hf: datasets.Dataset | datasets.DatasetDict,
    directory: Path,
    image_column: str = "image",
    id_column: str | None = None,
) -> Staged:
    """Write every row's image under `directory/images` and its labels to `labels.json`."""
    splits = hf.items() if isinstance(hf, datasets.DatasetDict) else [(None, hf)]
    images = directory / "images"
    images.mkdir(parents=True)
    coco = _Coco()
    index = 0
    for split, part in sorted(splits, key=lambda item: str(item[0])):
        if image_column not in part.column_names:
            raise UsageError(f"the Hugging Face dataset has no image column {image_column!r}")
        part = part.cast_column(image_column, datasets.Image(decode=False))
        chosen_id = id_column or next((c for c in ID_COLUMNS if c in part.column_names), None)
        for row in _rows(part):
            image = row[image_column] or {}
            name = _file_name(index, row.get(chosen_id) if chosen_id else None, image)
            _write_image(images / name, image)
            digest = hashlib.sha256((images / name).read_bytes()).hexdigest()
            coco.add(index, name, digest, row, part.features, split)
            index += 1
    labels = None
    if coco.annotations:
        labels = directory / "labels.json"
        labels.write_text(json.dumps(coco.document(), indent=1))
    return Staged(images, labels, index, len(coco.annotations))


def _rows(part: datasets.Dataset, batch: int = 256) -> Iterator[dict[str, Any]]:
    for table in part.with_format("arrow").iter(batch_size=batch):
        assert isinstance(table, pa.Table)
        yield from table.to_pylist()


def _file_name(index: int, row_id: Any, image: dict[str, Any]) -> str:
    """`<index>[_<id>]<ext>`: unique, in row order, with the extension the bytes say."""
    data = image.get("bytes") or b""
    source = image.get("path") or ""
    fmt = sniff(data[:64]) if data else _sniff_file(source)
    suffix = EXTENSIONS.get(fmt or "", "")
    if not suffix:
        given = Path(source).suffix.lower()
        suffix = given if given in MEDIA_EXTENSIONS else _UNKNOWN_IMAGE_SUFFIX
    stem = f"{index:08d}"
    if row_id is not None:
        stem += "_" + re.sub(r"[^A-Za-z0-9._-]+", "_", str(row_id))[:100]
    return stem + suffix


def _sniff_file(path: str) -> str | None:
    if not path or not Path(path).is_file():
        return None
    with open(path, "rb") as handle:
        return sniff(handle.read(64))


def _write_image(target: Path, image: dict[str, Any]) -> None:
    """The row's bytes; else the file its path names; else an empty file (quarantined)."""
    if image.get("bytes") is None and image.get("path") and Path(image["path"]).is_file():
        shutil.copyfile(image["path"], target)
    else:
        target.write_bytes(image.get("bytes") or b"")


class _Coco:
    """A COCO document of the labels found in the rows (boxes, or image-level classes)."""

    def __init__(self) -> None:
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []
        self.categories: dict[str, int] = {}

    def add(
        self,
        index: int,
        name: str,
        sha256: str,
        row: dict[str, Any],
        features: datasets.Features,
        split: str | None,
    ) -> None:
        """One image and its labels; `split` (a DatasetDict key) else the labels' own split."""
        entry: dict[str, Any] = {"id": index, "file_name": name, "sha256": sha256}
        for key in ("width", "height"):
            if isinstance(row.get(key), int):
                entry[key] = row[key]
        labels = list(_labels(row, features))
        splits = {s for _, _, s, _ in labels if s}
        if split is not None or len(splits) == 1:
            entry["split"] = split if split is not None else splits.pop()
        self.images.append(entry)
        for category, bbox, _, label_id in labels:
            annotation: dict[str, Any] = {
                "id": label_id or len(self.annotations) + 1,
                "image_id": index,
                "category_id": self.categories.setdefault(category, len(self.categories) + 1),
            }
            if bbox is not None:
                annotation["bbox"] = [float(v) for v in bbox]
            self.annotations.append(annotation)

    def document(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "annotations": self.annotations,
            "categories": [{"id": i, "name": n} for n, i in self.categories.items()],
        }


def _labels(
    row: dict[str, Any], features: datasets.Features
) -> Iterator[tuple[str, Any, str | None, str | None]]:
    """(category name, bbox or None, split or None, label id or None) of each label of a row."""
    for column in BOX_COLUMNS:
        value = row.get(column)
        if isinstance(value, dict):  # a dict of lists (the older Sequence-of-dict layout)
            keys = list(value)
            value = [
                dict(zip(keys, items, strict=True)) for items in zip(*value.values(), strict=True)
            ]
        for label in value or []:
            name = label.get("category", label.get("label"))
            label_id = label.get("annotation_id")  # as export_hf writes it; unique
            yield (
                _class_name(name, features, column),
                label.get("bbox"),
                label.get("split"),
                None if label_id is None else str(label_id),
            )
    for column in CLASS_COLUMNS:
        if column in row and row[column] is not None and not isinstance(row[column], list):
            yield _class_name(row[column], features, column), None, None, None


def _class_name(value: Any, features: datasets.Features, column: str) -> str:
    """A ClassLabel index as its name (looked up in the column's feature), else str(value)."""
    feature = features.get(column)
    while isinstance(feature, datasets.List | datasets.Sequence | dict):
        if isinstance(feature, dict):
            feature = feature.get("category", feature.get("label"))
        else:
            feature = feature.feature
    if isinstance(feature, datasets.ClassLabel) and isinstance(value, int):
        return str(feature.int2str(value))
    return str(value)
