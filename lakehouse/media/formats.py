"""Media formats: magic-byte sniffing, MIME types, file extensions and junk file names.

Content decides the format, never the file name: `sniff` looks at magic bytes only, and
the extension tables exist so a policy can flag names that lie about their content.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import PurePosixPath

IMAGE_FORMATS: frozenset[str] = frozenset({"jpeg", "png", "webp", "bmp", "tiff", "gif"})
VIDEO_FORMATS: frozenset[str] = frozenset({"mp4", "avi", "mkv"})

MEDIA_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "avi": "video/x-msvideo",
    "mkv": "video/x-matroska",
}

EXTENSIONS: dict[str, frozenset[str]] = {
    "jpeg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".pjpeg", ".pjp"}),
    "png": frozenset({".png", ".apng"}),
    "webp": frozenset({".webp"}),
    "bmp": frozenset({".bmp", ".dib"}),
    "tiff": frozenset({".tif", ".tiff"}),
    "gif": frozenset({".gif"}),
    "mp4": frozenset({".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2"}),
    "avi": frozenset({".avi"}),
    "mkv": frozenset({".mkv", ".webm"}),
}

MEDIA_EXTENSIONS: frozenset[str] = frozenset().union(*EXTENSIONS.values())
VIDEO_EXTENSIONS: frozenset[str] = frozenset().union(*(EXTENSIONS[f] for f in VIDEO_FORMATS))

# ISO-BMFF brands of still images (HEIF/AVIF): an `ftyp` box with one of these is not a video.
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
# BMP info-header sizes (core, v2..v5): 'BM' alone is too weak a signature.
_BMP_HEADER_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
_JUNK_NAMES = frozenset(
    {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db", "ehthumbs_vista.db"}
)
_JUNK_PATTERNS = ("._*", "~$*")


def sniff(head: bytes) -> str | None:
    """The format named by the magic bytes at the start of a file (64 bytes suffice), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if (
        head[:2] == b"BM"
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES
    ):
        return "bmp"
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "mkv"
    return None


def is_video(fmt: str | None, name: str) -> bool:
    """A video container by its sniffed format, or unrecognisable content (`fmt` None) named
    like a video: an empty or garbage `.mp4` is judged by the video checks, not the image ones."""
    if fmt is not None:
        return fmt in VIDEO_FORMATS
    return PurePosixPath(name.replace("\\", "/")).suffix.lower() in VIDEO_EXTENSIONS


def is_junk_name(name: str) -> bool:
    """True for operating-system litter (.DS_Store, Thumbs.db, AppleDouble '._*', Office '~$*')."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.lower() in _JUNK_NAMES or any(fnmatchcase(base, p) for p in _JUNK_PATTERNS)
