"""How an ingest reaches its workers: Ray tasks in `lakehouse.api`, anything callable in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lakehouse.ingest.inspect_task import ImageBatch
from lakehouse.ingest.video_task import VideoItem
from lakehouse.media.inspect import Inspection


@dataclass(frozen=True)
class IngestWorkers:
    inspect: Callable[[ImageBatch], Any]  # start inspecting a batch of images' bytes
    collect: Callable[[list[Any]], Iterable[list[Inspection]]]  # their verdicts, in order
    extract: Callable[[str], Any]  # start extracting one video's frames (a stream)
    stream: Callable[[Any], Iterator[VideoItem]]  # that video's frame batches, then its verdict
    files_per_task: int  # images one inspect task takes
