"""VideoPolicy and its strict `[video]` table loader."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from lakehouse.errors import ConfigError
from lakehouse.video.policy import (
    _KINDS,
    DEFAULT_TOML,
    FrameEncoding,
    Sampling,
    VideoPolicy,
    parse_frame_encoding,
    parse_sampling,
    video_policy_from_table,
)

PATH = Path("quality/policies/cameras.toml")


def test_default_toml_is_the_defaults():
    table = tomllib.loads(DEFAULT_TOML)["video"]
    assert video_policy_from_table(PATH, table) == VideoPolicy()
    assert set(table) == {f.name for f in fields(VideoPolicy)}  # every key documented
    for line in DEFAULT_TOML.splitlines()[1:]:
        assert "#" in line, f"no comment: {line}"


def test_every_field_has_a_kind():
    assert set(_KINDS) == {f.name for f in fields(VideoPolicy)}


def test_empty_table_gives_defaults():
    policy = video_policy_from_table(PATH, {})
    assert policy == VideoPolicy()
    assert (policy.max_gap_factor, policy.max_dropped_events, policy.sampling) == (
        1.5, 0, "every:1"
    )  # fmt: skip
    assert (policy.frame_encoding, policy.keep_truncated_frames) == ("png", False)


def test_values_are_canonicalised():
    policy = video_policy_from_table(
        PATH, {"sampling": "fps:2", "frame_encoding": "JPEG:85", "max_megapixels": 8}
    )
    assert (policy.sampling, policy.frame_encoding, policy.max_megapixels) == (
        "fps:2.0", "jpeg:q85", 8.0
    )  # fmt: skip
    assert policy.sampler == Sampling(fps=2.0)
    assert policy.encoding == FrameEncoding("jpeg", 85)
    assert VideoPolicy(frame_encoding="jpeg:85").frame_encoding == "jpeg:q85"
    assert VideoPolicy(sampling=" every:5").sampling == "every:5"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"max_gap_factr": 2}, "video.max_gap_factr"),
        ({"max_gap_factor": "1.5"}, "video.max_gap_factor"),
        ({"max_gap_factor": 1.0}, "video.max_gap_factor"),
        ({"max_gap_factor": True}, "video.max_gap_factor"),
        ({"max_vfr_ratio": 0.5}, "video.max_vfr_ratio"),
        ({"max_dropped_events": 1.5}, "video.max_dropped_events"),
        ({"max_dropped_events": -1}, "video.max_dropped_events"),
        ({"max_dropped_events": False}, "video.max_dropped_events"),
        ({"allow_non_monotonic": 1}, "video.allow_non_monotonic"),
        ({"frame_count_tolerance": 1}, "video.frame_count_tolerance"),
        ({"frame_count_tolerance": -0.1}, "video.frame_count_tolerance"),
        ({"keep_truncated_frames": "yes"}, "video.keep_truncated_frames"),
        ({"sampling": 5}, "video.sampling"),
        ({"sampling": "every:0"}, "video.sampling"),
        ({"sampling": "fps:0"}, "video.sampling"),
        ({"frame_encoding": "webp"}, "video.frame_encoding"),
        ({"frame_encoding": "jpeg:101"}, "video.frame_encoding"),
        ({"max_megapixels": 0}, "video.max_megapixels"),
        ({"max_duration_s": float("inf")}, "video.max_duration_s"),
    ],
)
def test_bad_values_name_file_and_key(table, key):
    with pytest.raises(ConfigError) as e:
        video_policy_from_table(PATH, table)
    assert str(PATH) in str(e.value) and key in str(e.value)


def test_table_must_be_a_table():
    with pytest.raises(ConfigError, match=r"cameras\.toml"):
        video_policy_from_table(PATH, ["every:1"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("every:1", Sampling(every=1)),
        ("every:12", Sampling(every=12)),
        ("fps:2.5", Sampling(fps=2.5)),
        ("fps:30", Sampling(fps=30.0)),
    ],
)
def test_parse_sampling(text, expected):
    assert parse_sampling(text) == expected
    assert parse_sampling(str(expected)) == expected  # the canonical form parses back


@pytest.mark.parametrize(
    "text", ["", "every", "every:", "every:0", "every:-2", "every:1.5", "fps:", "fps:-1",
             "fps:nan", "fps:inf", "each:2", "2"]
)  # fmt: skip
def test_parse_sampling_rejects(text):
    with pytest.raises(ValueError, match="every:N"):
        parse_sampling(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("png", FrameEncoding("png")), ("PNG", FrameEncoding("png")),
     ("jpeg:90", FrameEncoding("jpeg", 90)), ("jpeg:q1", FrameEncoding("jpeg", 1)),
     ("jpeg:100", FrameEncoding("jpeg", 100))],
)  # fmt: skip
def test_parse_frame_encoding(text, expected):
    assert parse_frame_encoding(text) == expected
    assert parse_frame_encoding(str(expected)) == expected
    assert expected.media_type == f"image/{expected.format}"


@pytest.mark.parametrize("text", ["jpeg", "jpeg:", "jpeg:0", "jpeg:101", "jpeg:q", "png:1", "webp"])
def test_parse_frame_encoding_rejects(text):
    with pytest.raises(ValueError, match="png"):
        parse_frame_encoding(text)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_gap_factor": 1.0}, {"max_vfr_ratio": 0.9}, {"frame_count_tolerance": 1.0},
     {"max_dropped_events": -1}, {"max_megapixels": 0}, {"sampling": "all"}],
)  # fmt: skip
def test_constructor_validates(kwargs):
    with pytest.raises(ValueError):
        VideoPolicy(**kwargs)
