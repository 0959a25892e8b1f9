"""Video policy: frame-timing tolerances, truncation handling, sampling and frame encoding.

A policy file's `[video]` table maps onto `VideoPolicy`; `video_policy_from_table` checks it
strictly (an unknown key or a wrong type raises ConfigError naming the file and the key). Every
key is optional: a missing one takes the dataclass default. `DEFAULT_TOML` is that table as it
belongs in `quality/policies/default.toml`, one comment per key; a test keeps both in step.

`sampling` and `frame_encoding` are stored in canonical form ("every:5", "fps:2.5", "png",
"jpeg:q90") because they are recorded as provenance with every video and frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError


@dataclass(frozen=True)
class Sampling:
    """Which decoded frames become assets: every `every`-th by decoded index, or `fps` per second
    of presentation time (exactly one of the two is set)."""

    every: int | None = None
    fps: float | None = None

    def __str__(self) -> str:
        return f"every:{self.every}" if self.every is not None else f"fps:{self.fps!r}"


@dataclass(frozen=True)
class FrameEncoding:
    """How a kept frame is stored: lossless PNG, or JPEG at `quality` (1-100)."""

    format: str  # 'png' | 'jpeg'
    quality: int | None = None

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"

    def __str__(self) -> str:
        return "png" if self.format == "png" else f"jpeg:q{self.quality}"


def parse_sampling(text: str) -> Sampling:
    """'every:N' (N >= 1) or 'fps:F' (F > 0); raises ValueError with the accepted forms."""
    kind, _, value = text.strip().partition(":")
    try:
        if kind == "every":
            n = int(value)
            if n >= 1 and str(n) == value.strip():
                return Sampling(every=n)
        elif kind == "fps":
            f = float(value)
            if math.isfinite(f) and f > 0:
                return Sampling(fps=f)
    except ValueError:
        pass
    raise ValueError(f"sampling must be 'every:N' (N >= 1) or 'fps:F' (F > 0), got {text!r}")


def parse_frame_encoding(text: str) -> FrameEncoding:
    """'png', or 'jpeg:Q' / 'jpeg:qQ' with 1 <= Q <= 100; raises ValueError otherwise."""
    clean = text.strip().lower()
    if clean == "png":
        return FrameEncoding("png")
    kind, _, value = clean.partition(":")
    digits = value.removeprefix("q")
    if kind == "jpeg" and digits.isdigit() and 1 <= int(digits) <= 100:
        return FrameEncoding("jpeg", int(digits))
    raise ValueError(f"frame_encoding must be 'png' or 'jpeg:Q' with Q in 1..100, got {text!r}")


@dataclass(frozen=True)
class VideoPolicy:
    """What an accepted video must look like and how its frames are kept.

    Timing checks work on real presentation timestamps (see `lakehouse.video.timing`); the
    size and duration limits are checked from the container header, before any decoding.
    """

    max_gap_factor: float = 1.5  # an interval over this x the median is a dropped-frame event
    max_vfr_ratio: float = 1.25  # p95 interval / median interval above this: variable rate
    max_dropped_events: int = 0  # dropped-frame events tolerated before 'dropped_frames'
    allow_non_monotonic: bool = False  # decreasing/repeated/missing pts tolerated?
    frame_count_tolerance: float = 0.0  # |declared - decoded| / declared tolerated
    keep_truncated_frames: bool = False  # keep the decodable head of a truncated container
    sampling: str = "every:1"
    frame_encoding: str = "png"
    max_megapixels: float = 40.0  # width x height of a frame, refused before decoding
    max_duration_s: float = 4 * 3600.0  # declared duration, refused before decoding

    def __post_init__(self) -> None:
        # canonical forms, so equal policies record equal provenance strings
        object.__setattr__(self, "sampling", str(parse_sampling(self.sampling)))
        object.__setattr__(self, "frame_encoding", str(parse_frame_encoding(self.frame_encoding)))
        for name in ("max_gap_factor", "max_vfr_ratio"):
            if not getattr(self, name) > 1.0:
                raise ValueError(f"{name} must be > 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.frame_count_tolerance < 1.0:
            raise ValueError("frame_count_tolerance must be in [0, 1)")
        if self.max_dropped_events < 0:
            raise ValueError("max_dropped_events must be >= 0")
        if not (self.max_megapixels > 0 and self.max_duration_s > 0):
            raise ValueError("max_megapixels and max_duration_s must be positive")

    @property
    def sampler(self) -> Sampling:
        return parse_sampling(self.sampling)

    @property
    def encoding(self) -> FrameEncoding:
        return parse_frame_encoding(self.frame_encoding)


# key -> kind; kinds: 'float>1', 'float>=0', 'float>0', 'int>=0', 'bool', 'str'
_KINDS: dict[str, str] = {
    "max_gap_factor": "float>1",
    "max_vfr_ratio": "float>1",
    "max_dropped_events": "int>=0",
    "allow_non_monotonic": "bool",
    "frame_count_tolerance": "fraction",
    "keep_truncated_frames": "bool",
    "sampling": "sampling",
    "frame_encoding": "encoding",
    "max_megapixels": "float>0",
    "max_duration_s": "float>0",
}


def video_policy_from_table(path: Path, table: dict[str, Any]) -> VideoPolicy:
    """The `[video]` table of policy file `path` as a VideoPolicy; missing keys take defaults.

    Raises ConfigError naming the file and the key for an unknown key, a wrong type or a value
    out of range (booleans are not numbers; integers are accepted where floats are).
    """
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [video] must be a table")
    for key in sorted(table.keys() - _KINDS.keys()):
        raise ConfigError(f"{path}: unknown key 'video.{key}' (expected {sorted(_KINDS)})")
    values = {key: _typed(path, key, table[key], _KINDS[key]) for key in table}
    return VideoPolicy(**values)


def _typed(path: Path, key: str, value: Any, kind: str) -> Any:
    fail = f"{path}: video.{key} must be "
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(fail + "true or false")
        return value
    if kind in ("sampling", "encoding"):
        if not isinstance(value, str):
            raise ConfigError(fail + "a string")
        try:
            parse = parse_sampling if kind == "sampling" else parse_frame_encoding
            return str(parse(value))
        except ValueError as e:
            raise ConfigError(f"{path}: video.{key}: {e}") from e
    if kind == "int>=0":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(fail + "an integer >= 0")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(fail + "a number")
    checks = {
        "float>1": (value > 1, "a number > 1"),
        "float>0": (value > 0, "a positive number"),
        "fraction": (0 <= value < 1, "a fraction in [0, 1)"),
    }
    ok, what = checks[kind]
    if not ok:
        raise ConfigError(fail + what)
    return float(value)


DEFAULT_TOML = """\
[video]
max_gap_factor = 1.5           # interval over 1.5x the median frame interval: dropped-frame event
max_vfr_ratio = 1.25           # p95 / median frame interval above this: 'variable_frame_rate'
max_dropped_events = 0         # dropped-frame events tolerated before 'dropped_frames'
allow_non_monotonic = false    # true: pts going back, repeating or missing is tolerated
frame_count_tolerance = 0.0    # |declared - decoded| / declared frames tolerated
keep_truncated_frames = false  # true: keep the decodable head of a truncated file (still flagged)
sampling = "every:1"           # "every:N" (decoded index % N == 0) or "fps:F" (by pts)
frame_encoding = "png"         # "png" (lossless) or "jpeg:Q" (quality 1-100), recorded per frame
max_megapixels = 40            # frame width x height in millions, refused before decoding
max_duration_s = 14400         # declared duration in seconds, refused before decoding
"""
