"""One pure verdict per input file: format, header, policy violations, integrity, perceptual hash.

Order matters: empty -> sniff -> probe -> policy -> decode -> phash. An image over the policy's
pixel limit is never decoded (decompression bombs never reach a decoder); every other image is
fully decoded, so a policy violator that is also damaged is reported as corrupt.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.errors import CorruptMedia
from lakehouse.media.decode import decode_verified
from lakehouse.media.formats import MEDIA_TYPES, VIDEO_FORMATS, sniff
from lakehouse.media.phash import phash64
from lakehouse.media.probe import ImageHeader, probe
from lakehouse.policy import ImagePolicy, check_header


@dataclass(frozen=True)
class Inspection:
    """The verdict on one file: `category` None (accepted), 'corrupt' or 'policy'.

    `reasons` holds every reason code that applies: a corrupt code first ('empty_file',
    'not_an_image', 'truncated', 'corrupt_data', 'bad_crc', 'bad_header', 'decode_error'),
    then the policy codes of `lakehouse.policy`.
    """

    format: str | None
    media_type: str | None
    header: ImageHeader | None
    category: str | None
    reasons: tuple[str, ...]
    detail: str
    phash: int | None


def inspect_image(data: bytes, filename: str, policy: ImagePolicy) -> Inspection:
    """Inspect the bytes of one file named `filename` against `policy`; never raises for bad data.

    Video containers are not images: callers route them elsewhere, and any that arrive here
    are reported as 'not_an_image'.
    """
    if not data:
        return Inspection(None, None, None, "corrupt", ("empty_file",), "empty file", None)
    fmt = sniff(data[:64])
    if fmt is None or fmt in VIDEO_FORMATS:
        what = f"a {fmt} video" if fmt else "no known image signature"
        return Inspection(fmt, None, None, "corrupt", ("not_an_image",), what, None)
    media_type = MEDIA_TYPES[fmt]
    try:
        header = probe(data, fmt)
    except CorruptMedia as e:
        return Inspection(fmt, media_type, None, "corrupt", (e.reason,), str(e), None)
    violations = check_header(policy, header, filename)
    codes = tuple(v.code for v in violations)
    details = [v.detail for v in violations]
    if "too_many_pixels" in codes:
        return Inspection(fmt, media_type, header, "policy", codes, "; ".join(details), None)
    try:
        gray = decode_verified(data, header)
    except CorruptMedia as e:
        detail = "; ".join([str(e), *details])
        return Inspection(fmt, media_type, header, "corrupt", (e.reason, *codes), detail, None)
    summary = f"{fmt} {header.width}x{header.height} {header.color_mode} {header.bit_depth}-bit"
    return Inspection(
        fmt,
        media_type,
        header,
        "policy" if codes else None,
        codes,
        "; ".join(details) if codes else summary,
        phash64(gray),
    )
