"""Policy files: strict loading, a content digest, and every header violation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lakehouse.errors import ConfigError
from lakehouse.media.probe import ImageHeader
from lakehouse.policy import ImagePolicy, check_header, load_policy

DEFAULT_PATH = Path(__file__).parents[1] / "quality/policies/default.toml"
GOOD = ImageHeader("jpeg", 640, 480, 3, 8, "rgb", 1, None)


@pytest.fixture
def default() -> ImagePolicy:
    return load_policy(DEFAULT_PATH).image


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_default_policy():
    policy = load_policy(DEFAULT_PATH)
    assert policy.name == "default"
    assert len(policy.digest) == 16 and int(policy.digest, 16) >= 0
    image = policy.image
    assert image.formats == ("jpeg", "png", "webp", "bmp", "tiff")
    assert (image.channels, image.bit_depth, image.color_modes) == ((3,), (8,), ("rgb",))
    assert (image.min_side, image.max_megapixels, image.max_aspect_ratio) == (32, 100.0, 10.0)
    assert not image.allow_multi_frame and image.extension_must_match
    assert image.allowed_orientations == tuple(range(1, 9))


def test_digest_follows_content_not_formatting(tmp_path):
    text = DEFAULT_PATH.read_text()
    reformatted = write(tmp_path, "# another comment\n" + text.replace(" = ", "="))
    assert load_policy(reformatted).digest == load_policy(DEFAULT_PATH).digest
    changed = write(tmp_path, text.replace("min_side = 32", "min_side = 64"))
    assert load_policy(changed).digest != load_policy(DEFAULT_PATH).digest


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("min_side = 32", "min_side = 32\nmin_sid = 3"), "image.min_sid"),
        (('name = "default"', 'name = "default"\nowner = "x"'), "owner"),
        (("min_side = 32", 'min_side = "32"'), "image.min_side"),
        (("min_side = 32", "min_side = true"), "image.min_side"),
        (("min_side = 32", "min_side = 0"), "image.min_side"),
        (("max_megapixels = 100", "max_megapixels = -1.5"), "image.max_megapixels"),
        (('"tiff"]', '"tiff", "heic"]'), "image.formats"),
        (("channels = [3]", "channels = [3, 5]"), "image.channels"),
        (("channels = [3]", "channels = []"), "image.channels"),
        (("bit_depth = [8]", "bit_depth = [8, 10]"), "image.bit_depth"),
        (('color_modes = ["rgb"]', 'color_modes = ["RGB"]'), "image.color_modes"),
        (("allow_multi_frame = false", "allow_multi_frame = 0"), "image.allow_multi_frame"),
        (("allowed_orientations = [1, 2, 3, 4, 5, 6, 7, 8]", "allowed_orientations = [0]"),
         "image.allowed_orientations"),
        (("extension_must_match = true", ""), "image.extension_must_match"),
        (("[image]", "[images]"), "images"),
        (("min_side = 32", "min_side = "), "cannot read"),
        (('missing_label = "count"', 'missing_label = "warn"'), "labels.missing_label"),
        (("max_distance = 14", "max_distance = 1"), "[dedup]"),
        (('sampling = "every:1"', 'sampling = "every:0"'), "video.sampling"),
        (("max_gap_factor = 1.5", "max_gap_factor = 1.5\nmax_gap = 2"), "video.max_gap"),
    ],
)  # fmt: skip
def test_loader_errors_name_file_and_key(tmp_path, edit, message):
    old, new = edit
    path = write(tmp_path, DEFAULT_PATH.read_text().replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


@pytest.mark.parametrize(
    ("edit", "read"),
    [
        (('missing_label = "count"', 'missing_label = "error"'),
         lambda p: p.labels.missing_label == "error"),
        (("min_inliers = 12", "min_inliers = 20"), lambda p: p.dedup.min_inliers == 20),
        (('sampling = "every:1"', 'sampling = "fps:2"'), lambda p: p.video.sampling == "fps:2.0"),
        (('frame_encoding = "png"', 'frame_encoding = "jpeg:90"'),
         lambda p: p.video.encoding.media_type == "image/jpeg"),
        (("keep_truncated_frames = false", "keep_truncated_frames = true"),
         lambda p: p.video.keep_truncated_frames),
    ],
)  # fmt: skip
def test_every_section_is_read_and_digested(tmp_path, edit, read):
    default = load_policy(DEFAULT_PATH)
    assert not read(default)
    old, new = edit
    edited = load_policy(write(tmp_path, DEFAULT_PATH.read_text().replace(old, new, 1)))
    assert read(edited)
    assert edited.digest != default.digest


def test_missing_file_and_optional_keys(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_policy(tmp_path / "nope.toml")
    text = DEFAULT_PATH.read_text().replace('name = "default"\n', "")
    text = text.replace("allowed_orientations = [1, 2, 3, 4, 5, 6, 7, 8]", "")
    policy = load_policy(write(tmp_path, text))
    assert policy.name == "p"  # the file's stem
    assert policy.image.allowed_orientations == tuple(range(1, 9))


def test_good_header_passes(default):
    assert check_header(default, GOOD, "x/IMG_1.JPG") == []
    assert check_header(default, GOOD, "IMG_1.jpeg") == []


@pytest.mark.parametrize(
    ("changes", "filename", "codes"),
    [
        ({"format": "gif"}, "a.gif", ["format_not_allowed"]),
        ({"width": 31, "height": 40}, "a.jpg", ["too_small"]),
        ({"width": 10_001, "height": 10_000}, "a.jpg", ["too_many_pixels"]),
        ({"channels": 4}, "a.jpg", ["channels_not_allowed"]),
        ({"bit_depth": 16}, "a.jpg", ["bit_depth_not_allowed"]),
        ({"color_mode": "cmyk"}, "a.jpg", ["color_mode_not_allowed"]),
        ({"width": 4801, "height": 480}, "a.jpg", ["aspect_ratio"]),
        ({"width": 4800, "height": 480}, "a.jpg", []),
        ({"frames": 2}, "a.jpg", ["multi_frame"]),
        ({}, "a.png", ["extension_mismatch"]),
        ({}, "a", ["extension_mismatch"]),
        ({}, "a.jpg.bak", ["extension_mismatch"]),
        ({"exif_orientation": 6}, "a.jpg", []),
    ],
)
def test_each_violation(default, changes, filename, codes):
    header = dataclasses.replace(GOOD, **changes)
    assert [v.code for v in check_header(default, header, filename)] == codes


def test_every_violation_at_once(default):
    strict = dataclasses.replace(default, allowed_orientations=(1,))
    header = ImageHeader("gif", 20, 20_000_000, 1, 1, "palette", 9, 6)
    codes = {v.code for v in check_header(strict, header, "x.txt")}
    assert codes == {
        "format_not_allowed", "too_small", "too_many_pixels", "channels_not_allowed",
        "bit_depth_not_allowed", "color_mode_not_allowed", "aspect_ratio", "multi_frame",
        "extension_mismatch", "orientation_not_allowed",
    }  # fmt: skip


def test_extension_check_can_be_off(default):
    lax = dataclasses.replace(default, extension_must_match=False)
    assert check_header(lax, GOOD, "photo.png") == []
