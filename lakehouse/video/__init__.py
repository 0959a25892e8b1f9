"""Videos: container integrity, frame timing from real timestamps, sampled frames as assets.

`process_video` is the entry point (one streaming pass, frames handed out in batches);
`VideoPolicy` / `video_policy_from_table` the `[video]` policy table; `analyse_timestamps`
the pure timing check.

The policy, timing and sampling names import eagerly and need nothing heavy, so
`lakehouse.policy` can import them; the PyAV/OpenCV parts (`process_video`, the encoders) load
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.video.policy import (
    DEFAULT_TOML,
    FrameEncoding,
    Sampling,
    VideoPolicy,
    parse_frame_encoding,
    parse_sampling,
    video_policy_from_table,
)
from lakehouse.video.sampling import Sampler
from lakehouse.video.timing import DroppedFrames, TimingReport, analyse_timestamps

if TYPE_CHECKING:
    from lakehouse.video.encode import PNG_DEFLATE, encode_frame, encode_jpeg, encode_png
    from lakehouse.video.extract import (
        CORRUPT_REASONS,
        POLICY_REASONS,
        Frame,
        VideoResult,
        process_video,
        sha256_file,
    )

_LAZY = {
    "PNG_DEFLATE": "encode",
    "encode_frame": "encode",
    "encode_jpeg": "encode",
    "encode_png": "encode",
    "CORRUPT_REASONS": "extract",
    "POLICY_REASONS": "extract",
    "Frame": "extract",
    "VideoResult": "extract",
    "process_video": "extract",
    "sha256_file": "extract",
}

__all__ = [
    "CORRUPT_REASONS",
    "DEFAULT_TOML",
    "PNG_DEFLATE",
    "POLICY_REASONS",
    "DroppedFrames",
    "Frame",
    "FrameEncoding",
    "Sampler",
    "Sampling",
    "TimingReport",
    "VideoPolicy",
    "VideoResult",
    "analyse_timestamps",
    "encode_frame",
    "encode_jpeg",
    "encode_png",
    "parse_frame_encoding",
    "parse_sampling",
    "process_video",
    "sha256_file",
    "video_policy_from_table",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lakehouse.video' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"lakehouse.video.{module}"), name)
