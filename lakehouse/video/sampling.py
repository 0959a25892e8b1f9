"""Frame sampling: which decoded frames of a video become assets.

"every:N" keeps decoded indices 0, N, 2N, ... "fps:F" keeps frames by presentation time: slots
lie every 1000/F ms from the first frame's pts, and a frame is kept when its pts reaches the
next unconsumed slot (within half a tick of the stream's time base: timestamps a container
rounded to whole milliseconds still hit their slots); every slot it passes is consumed, so
a gap in the video never produces a burst of frames after it. Frames without a pts are never
kept under "fps:F".
"""

from __future__ import annotations

from lakehouse.video.policy import Sampling


class Sampler:
    """Stateful frame selector for one video; call `keep` once per decoded frame, in order."""

    def __init__(self, sampling: Sampling, tick_ms: float = 0.0) -> None:
        self._every = sampling.every
        self._period = 1000.0 / sampling.fps if sampling.fps else 0.0
        self._tolerance = max(tick_ms, 0.0) / 2 + 1e-6 * self._period
        self._start: float | None = None  # pts of the first frame: slot 0
        self._slot = 0  # index of the next unconsumed slot

    def keep(self, index: int, pts_ms: float | None) -> bool:
        """True when decoded frame `index` with presentation time `pts_ms` is to be kept."""
        if self._every is not None:
            return index % self._every == 0
        if pts_ms is None:
            return False
        if self._start is None:
            self._start = pts_ms
        reached = pts_ms + self._tolerance - self._start
        if reached < self._slot * self._period:
            return False
        self._slot = int(reached // self._period) + 1
        return True
