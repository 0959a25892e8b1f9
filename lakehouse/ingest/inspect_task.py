"""The per-image work of an ingest, run inside Ray workers: inspect bytes the driver read.

The driver reads and hashes every file anyway (to decide what is new before anything is
decoded), so it ships the bytes of a task's new images to the worker packed in one numpy
array (zero-copy out of the object store) and keeps them for the Parquet write. The worker
neither opens files nor hashes: what it judges is exactly what was hashed and will be stored,
and workers on a cluster need no view of the ingest root.

A plain function over bytes and a policy (no catalog or table handles), so it runs the same
in a local worker, on a cluster node, or inline in a test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakehouse.heap import long_lived_frozen
from lakehouse.ingest.packed import pack, unpack
from lakehouse.media.inspect import Inspection, inspect_image
from lakehouse.policy import ImagePolicy


@dataclass(frozen=True)
class ImageBatch:
    """One task's images: their bytes end to end (`contents`), sizes and file names."""

    contents: np.ndarray  # uint8
    sizes: list[int]
    names: list[str]

    @classmethod
    def of(cls, files: Sequence[tuple[bytes, str]]) -> ImageBatch:
        """Pack `(bytes, file name)` pairs."""
        contents = pack([data for data, _ in files])
        return cls(contents, [len(data) for data, _ in files], [name for _, name in files])

    def content_array(self) -> pa.LargeBinaryArray:
        """Every image's bytes as one Arrow array over `contents` (no copy), in order."""
        return unpack(self.sizes, self.contents)


def inspect_images(batch: ImageBatch, policy: ImagePolicy) -> list[Inspection]:
    """The verdict on each image of `batch`, in order; one bad image never fails the others."""
    _single_threaded_opencv()
    with long_lived_frozen():
        verdicts, start = [], 0
        for size, name in zip(batch.sizes, batch.names, strict=True):
            # bytes, not a view: the parsers slice and search it (a 1-copy of one image)
            data = batch.contents[start : start + size].tobytes()
            verdicts.append(inspect_image(data, name, policy))
            start += size
        return verdicts


def _single_threaded_opencv() -> None:
    # Ray already runs one task per core; OpenCV's own thread pool would oversubscribe them.
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
