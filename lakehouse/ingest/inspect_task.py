"""The per-file work of an ingest, run inside Ray workers: read, hash, inspect.

A plain function over paths and a policy (no catalog or table handles), so it runs the same
in a local worker, on a cluster node, or inline in a test.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from lakehouse.ingest.walk import read_file
from lakehouse.media.inspect import Inspection, inspect_image
from lakehouse.policy import ImagePolicy


@dataclass(frozen=True)
class Inspected:
    """What a worker learnt about one file; `error` is set when it could not be read."""

    index: int
    sha256: str | None
    content: bytes | None
    inspection: Inspection | None
    error: str | None = None


def inspect_files(items: list[tuple[int, str]], policy: ImagePolicy) -> list[Inspected]:
    """Inspect `(index, path)` items; one bad file never fails the others."""
    _single_threaded_opencv()
    results = []
    for index, path in items:
        try:
            data = read_file(path)
        except OSError as exc:
            results.append(Inspected(index, None, None, None, f"unreadable: {exc.strerror}"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        inspection = inspect_image(data, os.path.basename(path), policy)
        results.append(Inspected(index, digest, data, inspection))
    return results


def _single_threaded_opencv() -> None:
    # Ray already runs one task per core; OpenCV's own thread pool would oversubscribe them.
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
