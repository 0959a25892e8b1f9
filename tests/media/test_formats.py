"""Format sniffing by magic bytes, format tables and junk names."""

from __future__ import annotations

import pytest

from lakehouse import samples
from lakehouse.media.formats import (
    EXTENSIONS,
    IMAGE_FORMATS,
    MEDIA_EXTENSIONS,
    MEDIA_TYPES,
    VIDEO_FORMATS,
    is_junk_name,
    sniff,
)


@pytest.mark.parametrize(
    ("make", "fmt"),
    [
        (lambda: samples.make_jpeg(1, (64, 48)), "jpeg"),
        (samples.good_png, "png"),
        (samples.good_webp, "webp"),
        (samples.good_bmp, "bmp"),
        (samples.good_tiff, "tiff"),
        (samples.palette_gif, "gif"),
        (samples.cmyk_jpeg, "jpeg"),
        (samples.bomb_png, "png"),
    ],
)
def test_sniff_images(make, fmt):
    assert sniff(make()[:64]) == fmt


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "mp4"),  # QuickTime .mov
        (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01M4V M4A mp42isom", "mp4"),
        (b"RIFF\x10\x00\x01\x00AVI LIST", "avi"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01", "mkv"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"GIF87a\x10\x00\x10\x00", "gif"),
    ],
)
def test_sniff_other_signatures(head, fmt):
    assert sniff(head) == fmt


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",  # too short to be a JPEG
        b"BMW service record, 2024\n",  # 'BM' without a BMP info header
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",  # HEIF still image, not a video
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1",
        b"RIFF\x10\x00\x01\x00WAVEfmt ",
        b"%PDF-1.7\n",
        samples.text_file(),
        samples.html_file(),
        samples.random_bytes(),
    ],
)
def test_sniff_rejects_everything_else(head):
    assert sniff(head[:64]) is None


def test_tables_cover_every_format():
    assert IMAGE_FORMATS.isdisjoint(VIDEO_FORMATS)
    for fmt in IMAGE_FORMATS | VIDEO_FORMATS:
        kind = "image/" if fmt in IMAGE_FORMATS else "video/"
        assert MEDIA_TYPES[fmt].startswith(kind)
        assert EXTENSIONS[fmt]
        assert all(e.startswith(".") and e == e.lower() for e in EXTENSIONS[fmt])
    assert {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".mov"} <= MEDIA_EXTENSIONS
    assert frozenset().union(*EXTENSIONS.values()) == MEDIA_EXTENSIONS


@pytest.mark.parametrize(
    "name",
    [".DS_Store", "a/b/.DS_Store", "Thumbs.db", "thumbs.db", "desktop.ini", "ehthumbs.db",
     "._IMG_0001.jpg", "dir\\._x.png", "~$report.docx"],
)  # fmt: skip
def test_junk_names(name):
    assert is_junk_name(name)


@pytest.mark.parametrize("name", ["IMG_0001.jpg", "a/.hidden.jpg", "DS_Store.jpg", "thumbs.jpg"])
def test_not_junk(name):
    assert not is_junk_name(name)
