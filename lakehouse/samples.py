"""Sample images for tests, benchmarks and `lakehouse demo`: good, corrupt and policy-breaking.

Every photograph comes from files bundled inside the scikit-image and scikit-learn wheels: no
network, no downloads. Each case function documents the verdict it must get from
`inspect_image` under `quality/policies/default.toml`; `CASES` lists them all with a file name,
and `write_messy_drop` lays them out as a realistic, messy folder with the expected outcome
of every file.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image

# skimage.data photographs shipped inside the wheel (skimage/data/*.png|jpg); others need pooch.
_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina")
_SKLEARN_PHOTOS = ("china.jpg", "flower.jpg")


@cache
def photos() -> list[tuple[str, np.ndarray]]:
    """The bundled colour photographs as (name, read-only RGB uint8 array)."""
    from skimage import data
    from sklearn.datasets import load_sample_image

    found = [(name, getattr(data, name)()) for name in _SKIMAGE_PHOTOS]
    found += [(name.removesuffix(".jpg"), load_sample_image(name)) for name in _SKLEARN_PHOTOS]
    for _, array in found:
        array.setflags(write=False)
    return found


def make_rgb(seed: int, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A distinct RGB image per seed, deterministic in `seed`, of `size` (width, height).

    One bundled photo (seed modulo their number) in one of its 8 flips/transpositions, a
    random crop of 30-100% of the largest crop of the target's aspect, resized, with colour
    gain, brightness and sensor-noise jitter. Among 1,000 seeds about 1 pair in 7,000 lands
    within 10 bits of phash: near-duplicates exist, rarely, as in real collections.
    """
    rng = np.random.default_rng(seed)
    all_photos = photos()
    photo = all_photos[seed % len(all_photos)][1]
    flips = int(rng.integers(0, 8))
    if flips & 4:
        photo = photo.transpose(1, 0, 2)
    if flips & 2:
        photo = photo[::-1]
    if flips & 1:
        photo = photo[:, ::-1]
    width, height = size
    ph, pw = photo.shape[:2]
    crop_w = min(pw, ph * width / height) * rng.uniform(0.3, 1.0)
    crop_h = crop_w * height / width
    x, y = int(rng.uniform(0, pw - crop_w)), int(rng.uniform(0, ph - crop_h))
    crop = photo[y : y + max(1, int(crop_h)), x : x + max(1, int(crop_w))]
    shrink = crop.shape[1] > width
    out = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    gain = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    noise = rng.standard_normal(out.shape, dtype=np.float32) * 3
    jitter = out * gain + (noise + np.float32(rng.uniform(-12, 12)))
    return np.clip(jitter, 0, 255).astype(np.uint8)


def make_jpeg(seed: int, size: tuple[int, int] = (640, 480), quality: int = 90) -> bytes:
    """A distinct baseline JPEG per seed (about 60-90 KB at 640x480): see `make_rgb`."""
    return simplejpeg.encode_jpeg(make_rgb(seed, size), quality=quality, colorsubsampling="420")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _pil(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    return Image.fromarray(make_rgb(seed, size))


def scan_start(jpeg: bytes) -> int:
    """Offset of the first byte of entropy-coded data (after the SOS header)."""
    sos = jpeg.index(b"\xff\xda")
    return sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


# --- accepted under the default policy --------------------------------------------------------


def good_png(seed: int = 101) -> bytes:
    """8-bit RGB PNG: accepted."""
    return _save(_pil(seed), "PNG")


def good_webp(seed: int = 102) -> bytes:
    """Lossy RGB WebP: accepted."""
    return _save(_pil(seed), "WEBP", quality=85)


def good_bmp(seed: int = 103) -> bytes:
    """24-bit BMP: accepted."""
    return _save(_pil(seed), "BMP")


def good_tiff(seed: int = 104) -> bytes:
    """Uncompressed 8-bit RGB TIFF: accepted."""
    return _save(_pil(seed), "TIFF")


def progressive_jpeg(seed: int = 105) -> bytes:
    """Progressive JPEG: accepted (header.progressive is True)."""
    return _save(_pil(seed), "JPEG", quality=90, progressive=True)


def oriented_jpeg(orientation: int = 6, seed: int = 106) -> bytes:
    """JPEG with an EXIF orientation tag: accepted, header.exif_orientation == orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _save(_pil(seed), "JPEG", quality=90, exif=exif)


# --- corrupt ------------------------------------------------------------------------------------


def truncated_jpeg(seed: int = 201) -> bytes:
    """JPEG cut in the middle of its scan: 'truncated'."""
    data = make_jpeg(seed)
    return data[: (scan_start(data) + len(data)) // 2]


def damaged_jpeg(seed: int = 200) -> bytes:
    """JPEG with 64 random bytes (no 0xFF, so no fake markers) written over the middle of its
    scan, same length: 'corrupt_data'. Huffman codes resynchronise, so only about two thirds
    of such damage is detectable by any decoder; the default seed is one that is."""
    data = bytearray(make_jpeg(seed))
    middle = (scan_start(bytes(data)) + len(data)) // 2
    noise = np.random.default_rng(seed).integers(0, 0xFF, 64, dtype=np.uint8)  # 0..0xFE
    data[middle : middle + 64] = noise.tobytes()
    return bytes(data)


def jpeg_without_frame_header(seed: int = 203) -> bytes:
    """JPEG whose SOF0 segment was removed (scan without frame header): 'bad_header'."""
    data = make_jpeg(seed, (320, 240))
    sof = data.index(b"\xff\xc0")
    return data[:sof] + data[sof + 2 + int.from_bytes(data[sof + 2 : sof + 4], "big") :]


def truncated_png(seed: int = 204) -> bytes:
    """PNG cut at 60% of its bytes: 'truncated'."""
    data = good_png(seed)
    return data[: len(data) * 6 // 10]


def bad_crc_png(seed: int = 205) -> bytes:
    """PNG whose first IDAT CRC is wrong (pixels intact, Pillow's load() passes it): 'bad_crc'."""
    data = bytearray(good_png(seed))
    idat = data.index(b"IDAT") - 4
    crc_at = idat + 8 + int.from_bytes(data[idat : idat + 4], "big")
    data[crc_at] ^= 0xFF
    return bytes(data)


def truncated_tiff(seed: int = 206) -> bytes:
    """Uncompressed TIFF cut at 60% of its bytes (the IFD is intact): 'truncated'."""
    data = good_tiff(seed)
    return data[: len(data) * 6 // 10]


def empty_file() -> bytes:
    """Zero bytes: 'empty_file'."""
    return b""


def random_bytes(seed: int = 207, size: int = 4096) -> bytes:
    """Random bytes (no image signature): 'not_an_image'."""
    return b"\x00" + np.random.default_rng(seed).bytes(size - 1)


def text_file() -> bytes:
    """Plain text: 'not_an_image'."""
    return b"camera 2 notes\nlens cap left on for the first 40 shots, discard them\n"


def html_file() -> bytes:
    """An HTML error page saved instead of the image: 'not_an_image'."""
    return b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>\n"


# --- refused by the default policy --------------------------------------------------------------


def png_16bit(seed: int = 301) -> bytes:
    """16-bit RGB PNG (Pillow would call it 8-bit 'RGB'): 'bit_depth_not_allowed'."""
    rgb = make_rgb(seed, (320, 240)).astype(np.uint16) * 257
    return cv2.imencode(".png", rgb[:, :, ::-1].copy())[1].tobytes()


def grayscale_jpeg(seed: int = 302) -> bytes:
    """Single-channel JPEG: 'channels_not_allowed', 'color_mode_not_allowed'."""
    return _save(_pil(seed).convert("L"), "JPEG", quality=90)


def rgba_png(seed: int = 303) -> bytes:
    """RGBA PNG: 'channels_not_allowed', 'color_mode_not_allowed'."""
    image = _pil(seed).convert("RGBA")
    image.putalpha(200)
    return _save(image, "PNG")


def palette_png(seed: int = 304) -> bytes:
    """8-bit palette PNG (1 stored channel): 'channels_not_allowed', 'color_mode_not_allowed'."""
    return _save(_pil(seed).quantize(64), "PNG")


def palette_gif(seed: int = 305) -> bytes:
    """Single-frame GIF: 'format_not_allowed', 'channels_not_allowed', 'color_mode_not_allowed'."""
    return _save(_pil(seed).quantize(64), "GIF")


def animated_gif(seed: int = 306, frames: int = 4) -> bytes:
    """Animated GIF: 'format_not_allowed', 'channels_not_allowed', 'color_mode_not_allowed',
    'multi_frame'."""
    images = [_pil(seed + i, (160, 120)).quantize(64) for i in range(frames)]
    return _save(images[0], "GIF", save_all=True, append_images=images[1:], duration=100)


def animated_png(seed: int = 307, frames: int = 3) -> bytes:
    """APNG (acTL chunk): 'multi_frame'."""
    images = [_pil(seed + i, (160, 120)) for i in range(frames)]
    return _save(images[0], "PNG", save_all=True, append_images=images[1:])


def cmyk_jpeg(seed: int = 308) -> bytes:
    """Adobe CMYK JPEG: 'channels_not_allowed', 'color_mode_not_allowed' (mode 'cmyk')."""
    return _save(_pil(seed).convert("CMYK"), "JPEG", quality=90)


def ycck_jpeg(seed: int = 309) -> bytes:
    """CMYK JPEG relabelled YCCK (Adobe transform 2): 'channels_not_allowed',
    'color_mode_not_allowed' (mode 'ycck')."""
    data = bytearray(cmyk_jpeg(seed))
    adobe = data.index(b"\xff\xee\x00\x0eAdobe")
    data[adobe + 15] = 2  # marker, length, 'Adobe', version, flags0, flags1, then the transform
    return bytes(data)


def tiny_jpeg(seed: int = 310) -> bytes:
    """16x16 JPEG: 'too_small'."""
    return make_jpeg(seed, (16, 16))


def panorama_jpeg(seed: int = 311) -> bytes:
    """1200x60 JPEG (20:1): 'aspect_ratio'."""
    return make_jpeg(seed, (1200, 60))


def bomb_png(side: int = 40_000) -> bytes:
    """PNG header declaring side x side RGB pixels, a few hundred bytes on disk, whose IDAT is
    garbage with a valid CRC: 'too_many_pixels' only. Were it ever decoded, it would be reported
    corrupt instead, so the exact reasons prove that no decoder saw it."""
    ihdr = side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    garbage = np.random.default_rng(side).bytes(256)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", garbage)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_12bit_header(seed: int = 312) -> bytes:
    """8-bit JPEG data whose SOF claims 12-bit precision: 'decode_error', 'bit_depth_not_allowed'
    (libjpeg-turbo refuses it, Pillow too; nothing but CorruptMedia may escape)."""
    data = bytearray(make_jpeg(seed, (320, 240)))
    data[data.index(b"\xff\xc0") + 4] = 12
    return bytes(data)


@dataclass(frozen=True)
class Case:
    """One sample file and its verdict under the default policy."""

    name: str
    filename: str
    make: Callable[[], bytes]
    category: str | None
    reasons: frozenset[str]


def _case(
    name: str, filename: str, make: Callable[[], bytes], category: str | None, *reasons: str
) -> Case:
    return Case(name, filename, make, category, frozenset(reasons))


_NOT_RGB = ("channels_not_allowed", "color_mode_not_allowed")
_GIF = ("format_not_allowed", *_NOT_RGB)
_DEEP = "bit_depth_not_allowed"
CASES: tuple[Case, ...] = (
    _case("jpeg", "photo.jpg", lambda: make_jpeg(100), None),
    _case("png", "photo.png", good_png, None),
    _case("webp", "photo.webp", good_webp, None),
    _case("bmp", "photo.bmp", good_bmp, None),
    _case("tiff", "photo.tif", good_tiff, None),
    _case("progressive_jpeg", "progressive.jpeg", progressive_jpeg, None),
    _case("oriented_jpeg", "rotated.jpg", oriented_jpeg, None),
    _case("truncated_jpeg", "cut.jpg", truncated_jpeg, "corrupt", "truncated"),
    _case("damaged_jpeg", "damaged.jpg", damaged_jpeg, "corrupt", "corrupt_data"),
    _case("jpeg_no_sof", "nosof.jpg", jpeg_without_frame_header, "corrupt", "bad_header"),
    _case("truncated_png", "cut.png", truncated_png, "corrupt", "truncated"),
    _case("bad_crc_png", "crc.png", bad_crc_png, "corrupt", "bad_crc"),
    _case("truncated_tiff", "cut.tif", truncated_tiff, "corrupt", "truncated"),
    _case("empty", "empty.jpg", empty_file, "corrupt", "empty_file"),
    _case("random", "random.jpg", random_bytes, "corrupt", "not_an_image"),
    _case("text", "notes.jpg", text_file, "corrupt", "not_an_image"),
    _case("html", "page.jpg", html_file, "corrupt", "not_an_image"),
    _case("jpeg_12bit", "deep.jpg", jpeg_12bit_header, "corrupt", "decode_error", _DEEP),
    _case("png_16bit", "deep.png", png_16bit, "policy", _DEEP),
    _case("grayscale_jpeg", "gray.jpg", grayscale_jpeg, "policy", *_NOT_RGB),
    _case("rgba_png", "alpha.png", rgba_png, "policy", *_NOT_RGB),
    _case("palette_png", "palette.png", palette_png, "policy", *_NOT_RGB),
    _case("palette_gif", "palette.gif", palette_gif, "policy", *_GIF),
    _case("animated_gif", "anim.gif", animated_gif, "policy", *_GIF, "multi_frame"),
    _case("animated_png", "anim.png", animated_png, "policy", "multi_frame"),
    _case("cmyk_jpeg", "print.jpg", cmyk_jpeg, "policy", *_NOT_RGB),
    _case("ycck_jpeg", "print_ycck.jpg", ycck_jpeg, "policy", *_NOT_RGB),
    _case("tiny_jpeg", "icon.jpg", tiny_jpeg, "policy", "too_small"),
    _case("panorama_jpeg", "strip.jpg", panorama_jpeg, "policy", "aspect_ratio"),
    _case("bomb_png", "bomb.png", bomb_png, "policy", "too_many_pixels"),
    _case(
        "jpeg_named_png", "photo_jpeg.png", lambda: make_jpeg(313), "policy", "extension_mismatch"
    ),
)


_JUNK = {  # relative path -> bytes: skipped by name, or not media by extension and content
    ".DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(64),
    "2024-05-01/.DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(32),
    "2024-05-01/cam_a/Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(120),
    "2024-05-02/desktop.ini": b"[.ShellClassInfo]\r\nIconResource=C:\\photo.ico,0\r\n",
    "2024-05-02/._IMG_1005.jpg": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(48),
    "misc/~$report.docx": b"\x05jdoe" + bytes(40),
    "notes.txt": b"shoot of 2024-05-01, cameras a and b\n",
    "misc/labels.csv": b"file,label\nIMG_1000.jpg,cat\n",
}
_QUARANTINED = {  # relative path -> case name
    "2024-05-02/IMG_2001.jpg": "truncated_jpeg",
    "2024-05-02/IMG_2002.jpg": "damaged_jpeg",
    "exports/render.png": "bad_crc_png",
    "exports/partial.png": "truncated_png",
    "scans/scan_01.tif": "truncated_tiff",
    "misc/empty.jpg": "empty",
    "misc/random.jpg": "random",
    "misc/readme.jpg": "text",
    "misc/download.jpg": "html",
    "misc/depth16.png": "png_16bit",
    "misc/gray.jpg": "grayscale_jpeg",
    "misc/logo.png": "rgba_png",
    "misc/palette.png": "palette_png",
    "misc/anim.gif": "animated_gif",
    "misc/print_cmyk.jpg": "cmyk_jpeg",
    "misc/icon.jpg": "tiny_jpeg",
    "misc/panorama.jpg": "panorama_jpeg",
    "misc/bomb.png": "bomb_png",
}
_ACCEPTED = {  # relative path -> case name
    "exports/frame.png": "png",
    "exports/frame.webp": "webp",
    "scans/scan_02.tif": "tiff",
    "scans/scan_03.bmp": "bmp",
    "2024-05-02/IMG_4000.jpg": "oriented_jpeg",
}
_GOOD_FOLDERS = ("2024-05-01/cam_a", "2024-05-01/cam_b", "2024-05-02", "misc/holiday")
Outcome = tuple[str, str | None, frozenset[str]]


def write_messy_drop(root: Path, n_good: int = 12) -> dict[str, Outcome]:
    """Write a messy folder tree under `root` and return the expected ingest outcome per file.

    The tree holds `n_good` distinct photos in dated camera folders, byte-identical copies in
    other folders, corrupt files, policy violators (default policy), a JPEG named .png, a JPEG
    without extension, and OS junk. Outcomes follow the ingest rules: files are taken in sorted
    relative-posix-path order; the first of byte-identical copies gets its own verdict and
    later ones 'duplicate' (or 'quarantined' alike, when the first was quarantined); junk names
    and non-media files are 'skipped'. Values are (outcome, category, reasons).
    """
    if n_good < 1:
        raise ValueError("write_messy_drop needs n_good >= 1 (its copies start from IMG_1000)")
    cases = {case.name: case for case in CASES}
    files: dict[str, tuple[bytes, Outcome]] = {}
    for i in range(n_good):
        rel = f"{_GOOD_FOLDERS[i % len(_GOOD_FOLDERS)]}/IMG_{1000 + i:04d}.jpg"
        files[rel] = (make_jpeg(1000 + i), ("added", None, frozenset()))
    for rel, name in {**_ACCEPTED, **_QUARANTINED}.items():
        case = cases[name]
        verdict = "added" if case.category is None else "quarantined"
        files[rel] = (case.make(), (verdict, case.category, case.reasons))
    mismatch: Outcome = ("quarantined", "policy", frozenset({"extension_mismatch"}))
    files["2024-05-01/cam_b/IMG_3000.png"] = (make_jpeg(3000), mismatch)
    files["scans/page_0001"] = (make_jpeg(3001), mismatch)
    for rel, data in _JUNK.items():
        files[rel] = (data, ("skipped", None, frozenset()))
    copies = {  # copy -> original; "IMG_1000 (1).jpg" sorts before "IMG_1000.jpg"
        "backup/IMG_1000.jpg": "2024-05-01/cam_a/IMG_1000.jpg",
        "2024-05-01/cam_a/IMG_1000 (1).jpg": "2024-05-01/cam_a/IMG_1000.jpg",
        "backup/IMG_2001.jpg": "2024-05-02/IMG_2001.jpg",
        "backup/0_IMG_2002.jpg": "2024-05-02/IMG_2002.jpg",
    }
    for copy, original in copies.items():
        files[copy] = files[original]
    expected = _apply_dedup(files)
    for rel, (data, _) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return expected


def _apply_dedup(files: dict[str, tuple[bytes, Outcome]]) -> dict[str, Outcome]:
    """In sorted path order, later byte-identical copies of a media file inherit the verdict
    of the first: 'duplicate' after 'added', the same quarantine after 'quarantined'."""
    seen: dict[bytes, Outcome] = {}
    expected: dict[str, Outcome] = {}
    for rel in sorted(files):
        data, outcome = files[rel]
        if outcome[0] == "skipped":
            expected[rel] = outcome
            continue
        if data not in seen:
            seen[data] = expected[rel] = outcome
        elif seen[data][0] == "added":
            expected[rel] = ("duplicate", None, frozenset())
        else:
            expected[rel] = seen[data]
    return expected
