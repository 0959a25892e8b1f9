"""Image quality policies: a strict TOML loader and a pure header check.

A policy file (`quality/policies/*.toml`) holds a top-level `name` and an `[image]` table.
`check_header` returns every violation of an image header, each with a stable code:

- `format_not_allowed`: the format is not in `formats`
- `too_small`: the short side is below `min_side`
- `too_many_pixels`: width x height exceeds `max_megapixels` (checked before any decode:
  decompression bombs never reach a decoder)
- `channels_not_allowed`, `bit_depth_not_allowed`, `color_mode_not_allowed`: not in the lists
- `aspect_ratio`: long side / short side exceeds `max_aspect_ratio`
- `multi_frame`: more than one frame while `allow_multi_frame` is false
- `extension_mismatch`: with `extension_must_match`, the file name's extension is not one of
  the format's extensions (no extension or an unknown one mismatches too)
- `orientation_not_allowed`: the EXIF orientation (1 when absent) is not in `allowed_orientations`
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from lakehouse.dedup.params import DedupParams, dedup_params_from_table
from lakehouse.errors import ConfigError
from lakehouse.labels.policy import LabelPolicy, label_policy_from_table
from lakehouse.media.formats import EXTENSIONS, IMAGE_FORMATS
from lakehouse.media.probe import COLOR_MODES, ImageHeader
from lakehouse.video.policy import VideoPolicy, video_policy_from_table

_BIT_DEPTHS = frozenset({1, 2, 4, 8, 12, 16, 32})


@dataclass(frozen=True)
class ImagePolicy:
    """What an accepted image must look like; see the module docstring for each check."""

    min_side: int
    max_megapixels: float
    formats: tuple[str, ...]
    channels: tuple[int, ...]
    bit_depth: tuple[int, ...]
    color_modes: tuple[str, ...]
    max_aspect_ratio: float
    allow_multi_frame: bool
    extension_must_match: bool
    allowed_orientations: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)


@dataclass(frozen=True)
class GatePolicy:
    """What `publish` demands besides the image policy (see lakehouse/gate.py)."""

    require_validation: bool = False  # a branch must have been validated under this policy
    require_dedup: bool = False  # a branch must have fresh dedup results
    warn_only: tuple[str, ...] = ("suspicious_fill",)  # failing checks that do not block


@dataclass(frozen=True)
class AuditRule:
    """Threshold of one SQL audit (quality/checks/<name>.sql); -1 violations = report only."""

    max_violations: int = 0
    params: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Policy:
    """A named policy; `digest` identifies its content and is recorded with every ingest."""

    name: str
    image: ImagePolicy
    digest: str
    gate: GatePolicy = GatePolicy()
    audits: tuple[tuple[str, AuditRule], ...] = ()
    labels: LabelPolicy = field(default_factory=LabelPolicy)
    dedup: DedupParams = field(default_factory=DedupParams)
    video: VideoPolicy = field(default_factory=VideoPolicy)


@dataclass(frozen=True)
class Violation:
    code: str
    detail: str


# key -> (kind, allowed values or None); kinds: int, float, bool, [int], [str]
_IMAGE_KEYS: dict[str, tuple[str, frozenset | None]] = {
    "min_side": ("int", None),
    "max_megapixels": ("float", None),
    "formats": ("[str]", IMAGE_FORMATS),
    "channels": ("[int]", frozenset({1, 2, 3, 4})),
    "bit_depth": ("[int]", _BIT_DEPTHS),
    "color_modes": ("[str]", COLOR_MODES),
    "max_aspect_ratio": ("float", None),
    "allow_multi_frame": ("bool", None),
    "extension_must_match": ("bool", None),
    "allowed_orientations": ("[int]", frozenset(range(1, 9))),
}
_TOP_KEYS = frozenset(
    {"name", "description", "image", "gate", "audits", "labels", "dedup", "video"}
)


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file; any unknown key or bad value raises ConfigError."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read policy: {e}") from e
    for key in raw.keys() - _TOP_KEYS:
        raise ConfigError(f"{path}: unknown key {key!r} (expected {sorted(_TOP_KEYS)})")
    name = raw.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: 'name' must be a non-empty string")
    if not isinstance(raw.get("description", ""), str):
        raise ConfigError(f"{path}: 'description' must be a string")
    table = raw.get("image")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: missing [image] table")
    image = ImagePolicy(**_image_values(path, table))
    gate = _gate_policy(path, raw.get("gate", {}))
    audits = _audit_rules(path, raw.get("audits", {}))
    labels = label_policy_from_table(path, raw.get("labels"))
    dedup = dedup_params_from_table(path, raw.get("dedup"))
    video = video_policy_from_table(path, raw.get("video", {}))
    canonical = json.dumps(
        {
            "name": name,
            "image": asdict(image),
            "gate": asdict(gate),
            "audits": [[n, asdict(r)] for n, r in audits],
            "labels": asdict(labels),
            "dedup": asdict(dedup),
            "video": asdict(video),
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return Policy(name, image, digest, gate, audits, labels, dedup, video)


def _gate_policy(path: Path, table: Any) -> GatePolicy:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [gate] must be a table")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in ("require_validation", "require_dedup"):
            values[key] = _typed(path, f"gate.{key}", value, "bool", None)
        elif key == "warn_only":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: gate.warn_only must be a list of check names")
            values[key] = tuple(value)
        else:
            raise ConfigError(f"{path}: unknown key 'gate.{key}'")
    return GatePolicy(**values)


def _audit_rules(path: Path, table: Any) -> tuple[tuple[str, AuditRule], ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [audits] must be a table")
    rules = []
    for name, rule in sorted(table.items()):
        if not isinstance(rule, dict):
            raise ConfigError(
                f"{path}: audits.{name} must be a table, e.g. {{ max_violations = 0 }}"
            )
        limit = rule.get("max_violations", 0)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < -1:
            raise ConfigError(f"{path}: audits.{name}.max_violations must be an integer >= -1")
        params = []
        for key, value in sorted(rule.items()):
            if key == "max_violations":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{path}: audits.{name}.{key} must be a number")
            params.append((key, float(value)))
        rules.append((name, AuditRule(limit, tuple(params))))
    return tuple(rules)


def _image_values(path: Path, table: dict[str, Any]) -> dict[str, Any]:
    for key in table.keys() - _IMAGE_KEYS.keys():
        raise ConfigError(f"{path}: unknown key 'image.{key}' (expected {sorted(_IMAGE_KEYS)})")
    optional = {f.name for f in fields(ImagePolicy) if f.default is not MISSING}
    values: dict[str, Any] = {}
    for key, (kind, allowed) in _IMAGE_KEYS.items():
        if key in table:
            values[key] = _typed(path, f"image.{key}", table[key], kind, allowed)
        elif key not in optional:
            raise ConfigError(f"{path}: missing key 'image.{key}'")
    return values


def _typed(path: Path, key: str, value: Any, kind: str, allowed: frozenset | None) -> Any:
    """Check one value's type and range; a list becomes a tuple in the order written."""
    fail = f"{path}: {key} must be "
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(fail + "true or false")
        return value
    if kind in ("int", "float"):
        types = (int,) if kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, types) or value <= 0:
            raise ConfigError(fail + f"a positive {'integer' if kind == 'int' else 'number'}")
        return float(value) if kind == "float" else value
    item = int if kind == "[int]" else str
    if not isinstance(value, list) or not value:
        raise ConfigError(fail + f"a non-empty list of {item.__name__}")
    for v in value:
        if not isinstance(v, item) or isinstance(v, bool) or (allowed and v not in allowed):
            choices = sorted(allowed) if allowed else item.__name__
            raise ConfigError(fail + f"a list of {choices}, got {v!r}")
    return tuple(value)


def check_header(policy: ImagePolicy, header: ImageHeader, filename: str) -> list[Violation]:
    """Every way `header` (of a file named `filename`) breaks `policy`; empty when it passes."""
    p, hd = policy, header
    w, h = hd.width, hd.height
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    orientation = hd.exif_orientation or 1
    checks = [
        ("format_not_allowed", hd.format not in p.formats, f"format {hd.format}"),
        ("too_small", min(w, h) < p.min_side, f"{w}x{h} is under {p.min_side} px on a side"),
        (
            "too_many_pixels",
            w * h > p.max_megapixels * 1e6,
            f"{w}x{h} is {w * h / 1e6:.1f} MP, over {p.max_megapixels:g} MP",
        ),
        ("channels_not_allowed", hd.channels not in p.channels, f"{hd.channels} channels"),
        ("bit_depth_not_allowed", hd.bit_depth not in p.bit_depth, f"{hd.bit_depth}-bit"),
        ("color_mode_not_allowed", hd.color_mode not in p.color_modes, f"{hd.color_mode} colour"),
        (
            "aspect_ratio",
            max(w, h) > p.max_aspect_ratio * min(w, h),
            f"{w}x{h} is longer than {p.max_aspect_ratio:g}:1",
        ),
        ("multi_frame", hd.frames > 1 and not p.allow_multi_frame, f"{hd.frames} frames"),
        (
            "extension_mismatch",
            p.extension_must_match and suffix not in EXTENSIONS.get(hd.format, ()),
            f"{hd.format} named {suffix or '(no extension)'}",
        ),
        (
            "orientation_not_allowed",
            orientation not in p.allowed_orientations,
            f"EXIF orientation {orientation}",
        ),
    ]
    return [Violation(code, detail) for code, failed, detail in checks if failed]
