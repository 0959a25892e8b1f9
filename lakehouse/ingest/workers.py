"""How an ingest reaches its workers: Ray tasks in `lakehouse.api`, anything callable in tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lakehouse.ingest.inspect_task import InspectedBatch
from lakehouse.ingest.video_task import VideoItem


@dataclass(frozen=True)
class IngestWorkers:
    inspect: Callable[[list[tuple[int, str]]], Any]  # start inspecting (index, path) images
    collect: Callable[[list[Any]], list[InspectedBatch]]  # wait for those, results in order
    extract: Callable[[str], Any]  # start extracting one video's frames (a stream)
    stream: Callable[[Any], Iterator[VideoItem]]  # that video's frame batches, then its verdict
    files_per_task: int  # images one inspect task takes
