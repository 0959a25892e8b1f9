"""Videos: container integrity, frame timing from real timestamps, sampled frames as assets.

`process_video` is the entry point (one streaming pass, frames handed out in batches);
`VideoPolicy` / `video_policy_from_table` the `[video]` policy table; `analyse_timestamps`
the pure timing check.
"""

from lakehouse.video.encode import PNG_DEFLATE, encode_frame, encode_jpeg, encode_png
from lakehouse.video.extract import (
    CORRUPT_REASONS,
    POLICY_REASONS,
    Frame,
    VideoResult,
    process_video,
    sha256_file,
)
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
