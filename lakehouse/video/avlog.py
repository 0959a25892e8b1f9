"""FFmpeg's error log, captured while one video is read: the only place some damage shows.

The H.264 decoder conceals damaged slices and returns a frame without any error; it only logs
"error while decoding MB ...". Demuxers log "partial file" or "File ended prematurely" for a
truncated file they still read. PyAV exposes neither through its API (no decode_error_flags),
so we capture FFmpeg's log at ERROR level, through PyAV's public `av.logging.Capture`.

FFmpeg's log is process-wide and decoder threads log from threads of their own, so messages
cannot be told apart by video: a process-wide lock lets one capture run at a time. Concurrent
`process_video` calls in threads of one process therefore take turns; run videos in parallel
in separate processes (Ray tasks), as ingest does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import av
import av.logging

_LOCK = threading.Lock()


@dataclass(frozen=True)
class LogLine:
    level: int  # FFmpeg level: 0 panic, 8 fatal, 16 error
    source: str  # the FFmpeg component: a codec ('h264') or a demuxer ('matroska,webm')
    message: str


class ErrorLog:
    """The error-level FFmpeg messages logged so far in the current capture."""

    def __init__(self, raw: list[tuple[int, str, str]]) -> None:
        self._raw = raw

    def __len__(self) -> int:
        return len(self._raw)

    def since(self, start: int) -> list[LogLine]:
        """Lines logged after the first `start` lines (any component, any level captured:
        filter on `level`); the list's length counts every line taken."""
        return [
            LogLine(level, source or "", message.strip())
            for level, source, message in self._raw[start:]
        ]


@contextmanager
def capture_errors() -> Iterator[ErrorLog]:
    """Capture FFmpeg's error-level messages from every thread; restores PyAV's settings after.

    Holds a process-wide lock for its duration (see the module docstring).
    """
    with _LOCK:
        previous = av.logging.get_level()
        skip_repeated = av.logging.get_skip_repeated()
        if previous is None or previous < av.logging.ERROR:
            av.logging.set_level(av.logging.ERROR)
        # PyAV drops a line equal to the one before, even from an earlier video
        av.logging.set_skip_repeated(False)
        try:
            with av.logging.Capture(local=False) as raw:
                yield ErrorLog(raw)
        finally:
            av.logging.set_skip_repeated(skip_repeated)
            av.logging.set_level(previous)
