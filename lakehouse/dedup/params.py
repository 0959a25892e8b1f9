"""Near-duplicate thresholds: the `[dedup]` section of a policy file, with a strict loader.

Defaults were measured on `lakehouse.dedup.evalset` (tests/bench/bench_dedup.py prints the
tables). There, every re-encode, resize, PNG/JPEG switch, brightness, contrast and noise
variant lies within 6 pHash bits of its original, 1-3 degree rotations within 10, 5% crops
within 12 (centred) or 20 (off one corner); the closest hard negative is 14 bits away. But in
a collection of overlapping crops of a few photos (the benchmark's `make_jpeg` images),
different photos meet at 4 bits already: pHash alone is trusted up to `phash_distance` = 2.
Above it the second signal decides (`lakehouse.dedup.confirm`). Keypoint inliers under the
near-identity check: >= 24 for every labelled positive, <= 4 for every negative (labelled set
within 22 bits, collection pairs of different photos within 16), hence `min_inliers` = 12.
Thumbnail correlation, for images too smooth for keypoints: >= 0.964 for positives, <= 0.930
for negatives, hence `min_similarity` = 0.95. `max_distance` = 14 gives recall 0.988 at
precision 1.0 (pHash alone at its best threshold, 12: 0.980); 16 gives 0.996 and 20 gives 1.0,
still at precision 1.0, but the index costs more: exact search over n uniform hashes grows
like n^(1 + H(k/64)) (H the binary entropy), ~2x per 2 bits at a million assets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.errors import ConfigError


@dataclass(frozen=True)
class DedupParams:
    """Thresholds of near-duplicate detection.

    - `phash_distance`: pairs within this many pHash bits are duplicates on pHash alone
    - `max_distance`: pairs up to this distance are candidates (the index radius); above
      `phash_distance` they must pass the second signal:
    - `min_inliers`: keypoint matches consistent with a near-identity transform, or, for
      images with too few keypoints, `min_similarity`: the aligned thumbnail correlation
    """

    phash_distance: int = 2
    max_distance: int = 14
    min_inliers: int = 12
    min_similarity: float = 0.95

    def __post_init__(self) -> None:
        if not 0 <= self.phash_distance <= self.max_distance <= 32:
            raise ValueError(
                "need 0 <= phash_distance <= max_distance <= 32, got "
                f"{self.phash_distance} and {self.max_distance}"
            )
        if self.min_inliers < 3:
            raise ValueError(f"min_inliers must be at least 3, got {self.min_inliers}")
        if not -1.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be within [-1, 1], got {self.min_similarity}")


_KEYS = {"phash_distance": int, "max_distance": int, "min_inliers": int, "min_similarity": float}


def dedup_params_from_table(path: str | Path, table: Mapping[str, Any] | None) -> DedupParams:
    """The `[dedup]` table of the policy file at `path` (None: absent) as DedupParams.

    Missing keys take the measured defaults; unknown keys, wrong types and impossible
    combinations raise ConfigError naming the file and key.
    """
    if table is None:
        return DedupParams()
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [dedup] must be a table")
    for key in table.keys() - _KEYS.keys():
        raise ConfigError(f"{path}: unknown key 'dedup.{key}' (expected {sorted(_KEYS)})")
    values: dict[str, Any] = {}
    for key, kind in _KEYS.items():
        if key not in table:
            continue
        value = table[key]
        allowed = (int, float) if kind is float else (int,)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ConfigError(f"{path}: dedup.{key} must be a {kind.__name__}, got {value!r}")
        values[key] = kind(value)
    try:
        return DedupParams(**values)
    except ValueError as e:
        raise ConfigError(f"{path}: [dedup]: {e}") from e
