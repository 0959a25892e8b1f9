"""inspect_image: the exact verdict of every sample case under the default policy."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lakehouse import samples
from lakehouse.media.inspect import inspect_image
from lakehouse.policy import load_policy

DEFAULT = load_policy(Path(__file__).parents[2] / "quality/policies/default.toml").image


@pytest.mark.parametrize("case", samples.CASES, ids=lambda c: c.name)
def test_case_verdict(case):
    result = inspect_image(case.make(), case.filename, DEFAULT)
    assert result.category == case.category
    assert set(result.reasons) == case.reasons
    assert len(result.reasons) == len(case.reasons)  # no code twice
    assert "\n" not in result.detail and result.detail
    if case.category == "corrupt":
        assert result.reasons[0] in {"empty_file", "not_an_image", "truncated", "corrupt_data",
                                     "bad_crc", "bad_header", "decode_error"}  # fmt: skip
        assert result.phash is None
    elif "too_many_pixels" not in case.reasons:
        assert result.phash is not None and result.header is not None


def test_accepted_image_fields():
    result = inspect_image(samples.make_jpeg(5), "a/b/IMG_0005.JPG", DEFAULT)
    assert (result.format, result.media_type, result.category, result.reasons) == (
        "jpeg", "image/jpeg", None, ()
    )  # fmt: skip
    assert result.header is not None and (result.header.width, result.header.height) == (640, 480)


def test_bomb_is_never_decoded():
    """The bomb's IDAT is garbage: any decode would report it corrupt. Exactly
    'too_many_pixels' (and microseconds) proves no decoder saw it."""
    data = samples.bomb_png(60_000)
    start = time.perf_counter()
    result = inspect_image(data, "bomb.png", DEFAULT)
    assert time.perf_counter() - start < 0.05
    assert (result.category, result.reasons, result.phash) == ("policy", ("too_many_pixels",), None)
    within_limit = inspect_image(samples.bomb_png(2_000), "bomb.png", DEFAULT)
    assert within_limit.category == "corrupt"  # the same garbage, decoded, is found


def test_corrupt_and_policy_reasons_together():
    data = samples.png_16bit()
    result = inspect_image(data[: len(data) // 2], "deep.jpg", DEFAULT)
    assert result.category == "corrupt"
    assert result.reasons == ("truncated", "bit_depth_not_allowed", "extension_mismatch")


def test_extension_is_not_trusted():
    png_named_jpg = inspect_image(samples.good_png(), "photo.jpg", DEFAULT)
    assert (png_named_jpg.format, png_named_jpg.reasons) == ("png", ("extension_mismatch",))
    no_extension = inspect_image(samples.make_jpeg(2), "scans/page_0001", DEFAULT)
    assert no_extension.reasons == ("extension_mismatch",)


def test_video_is_not_an_image():
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(100)
    result = inspect_image(mp4, "clip.mp4", DEFAULT)
    assert (result.format, result.category, result.reasons) == ("mp4", "corrupt", ("not_an_image",))
