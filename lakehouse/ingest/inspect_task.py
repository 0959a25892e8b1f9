"""The per-file work of an ingest, run inside Ray workers: read, hash, inspect.

A plain function over paths and a policy (no catalog or table handles), so it runs the same
in a local worker, on a cluster node, or inline in a test.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakehouse.heap import long_lived_frozen
from lakehouse.ingest.packed import pack, unpack
from lakehouse.ingest.walk import read_file
from lakehouse.media.inspect import Inspection, inspect_image
from lakehouse.policy import ImagePolicy


@dataclass(frozen=True)
class Inspected:
    """What a worker learnt about one file; `error` is set when it could not be read."""

    index: int
    sha256: str | None
    inspection: Inspection | None
    error: str | None = None
    size: int = 0  # its bytes in the batch's `contents` (none when unreadable)


@dataclass(frozen=True)
class InspectedBatch:
    """One task's results, and the bytes of the files it read end to end (`packed`)."""

    results: list[Inspected]
    contents: np.ndarray  # uint8

    def content_array(self) -> pa.LargeBinaryArray:
        """Every result's bytes as one Arrow array over `contents` (no copy), in order."""
        return unpack([r.size for r in self.results], self.contents)


def inspect_files(items: list[tuple[int, str]], policy: ImagePolicy) -> InspectedBatch:
    """Inspect `(index, path)` items; one bad file never fails the others."""
    _single_threaded_opencv()
    with long_lived_frozen():
        results, contents = [], []
        for index, path in items:
            result, data = _inspect_one(index, path, policy)
            results.append(result)
            contents.append(data)
        return InspectedBatch(results, pack(contents))


def _inspect_one(index: int, path: str, policy: ImagePolicy) -> tuple[Inspected, bytes]:
    try:
        data = read_file(path)
    except OSError as exc:
        return Inspected(index, None, None, f"unreadable: {exc.strerror}"), b""
    digest = hashlib.sha256(data).hexdigest()
    inspection = inspect_image(data, os.path.basename(path), policy)
    return Inspected(index, digest, inspection, size=len(data)), data


def _single_threaded_opencv() -> None:
    # Ray already runs one task per core; OpenCV's own thread pool would oversubscribe them.
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
