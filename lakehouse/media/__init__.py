"""Image bytes in, facts out: format sniffing, headers, integrity decode, perceptual hash.

`Inspection` and `inspect_image` load on first use: `lakehouse.media.inspect` needs
`lakehouse.policy`, which itself imports from this package.
"""

from lakehouse.media.decode import decode_verified
from lakehouse.media.formats import (
    EXTENSIONS,
    IMAGE_FORMATS,
    MEDIA_EXTENSIONS,
    MEDIA_TYPES,
    VIDEO_EXTENSIONS,
    VIDEO_FORMATS,
    is_junk_name,
    is_video,
    sniff,
)
from lakehouse.media.phash import hamming, phash64
from lakehouse.media.probe import COLOR_MODES, ImageHeader, probe

__all__ = [
    "COLOR_MODES",
    "EXTENSIONS",
    "IMAGE_FORMATS",
    "MEDIA_EXTENSIONS",
    "MEDIA_TYPES",
    "VIDEO_EXTENSIONS",
    "VIDEO_FORMATS",
    "ImageHeader",
    "Inspection",
    "decode_verified",
    "hamming",
    "inspect_image",
    "is_junk_name",
    "is_video",
    "phash64",
    "probe",
    "sniff",
]


def __getattr__(name: str) -> object:
    if name in ("Inspection", "inspect_image"):
        from lakehouse.media import inspect

        return getattr(inspect, name)
    raise AttributeError(f"module 'lakehouse.media' has no attribute {name!r}")
