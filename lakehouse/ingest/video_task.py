"""The per-video work of an ingest, run as a Ray streaming generator: frame batches, then the
verdict.

`process_video` hands frames to a callback; a generator task must yield them instead, so the
extraction runs in a thread that regroups frames into batches of about `batch_bytes` (a 4K PNG
frame is 100x a 320x240 JPEG one: counting frames would not bound memory) and feeds a queue of
at most `_QUEUED_BATCHES` batches. With Ray's generator backpressure on the caller's side
(`BATCHES_IN_FLIGHT`), a long video never sits in memory whole: decoding waits while the
driver is behind on committing.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from lakehouse.ingest.packed import pack, unpack
from lakehouse.video import Frame, VideoPolicy, VideoResult

_QUEUED_BATCHES = 2
BATCH_BYTES = 8 << 20
BATCHES_IN_FLIGHT = 8  # yielded, unread batches before the task pauses: ~64 MB
_DONE = object()


@dataclass(frozen=True)
class VideoUnreadable:
    """The file could not be read at all (permissions, vanished): recorded, never fatal."""

    error: str


@dataclass(frozen=True)
class FrameBatch:
    """Kept frames (their `content` left empty) and their bytes end to end (`packed`)."""

    frames: list[Frame]
    sizes: list[int]
    contents: np.ndarray  # uint8

    @classmethod
    def of(cls, frames: list[Frame]) -> FrameBatch:
        return cls(
            [dataclasses.replace(f, content=b"") for f in frames],
            [len(f.content) for f in frames],
            pack([f.content for f in frames]),
        )

    def content_array(self) -> pa.LargeBinaryArray:
        """The frames' bytes as one Arrow array over `contents` (no copy), in order."""
        return unpack(self.sizes, self.contents)


VideoItem = FrameBatch | VideoResult | VideoUnreadable


def extract_video(
    path: str, policy: VideoPolicy, batch_bytes: int, threads: int
) -> Iterator[VideoItem]:
    """Yield batches of kept frames (provisional, see `lakehouse.video.extract`) and finally
    the `VideoResult`, or a single `VideoUnreadable` when the file cannot be read."""
    from lakehouse.video import process_video

    try:  # not swapped for a link or a device since the walk
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError as exc:
        regular, problem = False, f"unreadable: {exc.strerror or exc}"
    else:
        problem = "unreadable: not a regular file"
    if not regular:
        yield VideoUnreadable(problem)
        return
    batches: queue.Queue[object] = queue.Queue(maxsize=_QUEUED_BATCHES)
    outcome: dict[str, object] = {}

    pending: list[Frame] = []
    pending_bytes = 0

    def regroup(frames: list[Frame]) -> None:
        nonlocal pending, pending_bytes
        for frame in frames:
            pending.append(frame)
            pending_bytes += len(frame.content)
            if pending_bytes >= batch_bytes:
                batches.put(FrameBatch.of(pending))
                pending, pending_bytes = [], 0

    def work() -> None:
        try:
            outcome["result"] = process_video(path, policy, regroup, 4, threads=threads)
            if pending:
                batches.put(FrameBatch.of(pending))
        except OSError as exc:
            outcome["result"] = VideoUnreadable(f"unreadable: {exc.strerror or exc}")
        except BaseException as exc:  # re-raised in the generator, where Ray reports it
            outcome["error"] = exc
        finally:
            batches.put(_DONE)

    worker = threading.Thread(target=work, name="extract-video", daemon=True)
    worker.start()
    while (item := batches.get()) is not _DONE:
        yield item  # type: ignore[misc]
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    yield outcome["result"]  # type: ignore[misc]
