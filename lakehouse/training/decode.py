"""Decode a block of stored images to pixels for training, in the worker that read them.

OpenCV decodes straight from the Arrow buffer (no copy per image). When a JPEG is at least twice
the target size on both sides, libjpeg's DCT scaling decodes it at 1/2, 1/4 or 1/8 size
(`IMREAD_REDUCED_*`), then INTER_AREA resizes to the target: several times cheaper than a full
decode. OpenCV applies EXIF orientation as usual. This module never calls
`cv2.setNumThreads`: a forked DataLoader worker doing so after its parent used OpenCV hangs
(DESIGN.md).

Integrity is not this module's job (ingest decoded every asset strictly and `verify` re-hashes
them); a stored image that fails to decode here is an error naming its asset.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyarrow as pa

from lakehouse.errors import LakehouseError

_COLOR = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
_GRAY = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}
_SWAPS_SIDES = frozenset({5, 6, 7, 8})  # EXIF orientations that rotate by 90 degrees


def decode_images(
    rows: pa.Table, mode: str, resize: tuple[int, int] | None
) -> np.ndarray | list[np.ndarray]:
    """Pixels (uint8, HxWxC) of each row's `content`: one array (n, H, W, C) when resized,
    else one array per row. Needs columns content, asset_id, format, width, height and
    exif_orientation."""
    contents = rows["content"].combine_chunks()
    offsets = _offsets(contents)
    buffer = contents.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    channels = 1 if mode == "gray" else 3
    sizes = zip(
        rows["format"].to_pylist(),
        rows["width"].to_pylist(),
        rows["height"].to_pylist(),
        rows["exif_orientation"].to_pylist(),
        strict=True,
    )
    out: np.ndarray | list[np.ndarray] = []
    if resize is not None:
        out = np.empty((len(contents), resize[1], resize[0], channels), np.uint8)
    for i, (fmt, width, height, orientation) in enumerate(sizes):
        scale = _reduction(fmt, width, height, orientation, resize)
        flags = (_GRAY if mode == "gray" else _COLOR)[scale]
        image = cv2.imdecode(data[offsets[i] : offsets[i + 1]], flags)
        if image is None:
            asset_id = rows["asset_id"][i].as_py()
            raise LakehouseError(f"asset {asset_id}: its stored {fmt} bytes do not decode")
        if resize is not None and image.shape[1::-1] != resize:
            shrinking = image.shape[1] >= resize[0] and image.shape[0] >= resize[1]
            interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
            image = cv2.resize(image, resize, interpolation=interpolation)
        image = image.reshape(image.shape[0], image.shape[1], channels)
        if isinstance(out, list):
            out.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if mode == "rgb" else image)
        elif mode == "rgb":
            cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=out[i])
        else:
            out[i] = image
    return out


def _reduction(
    fmt: str, width: int, height: int, orientation: int | None, target: tuple[int, int] | None
) -> int:
    """The largest JPEG DCT scale-down (8, 4, 2) that still covers the target size."""
    if target is None or fmt != "jpeg":
        return 1
    if orientation in _SWAPS_SIDES:
        width, height = height, width
    for factor in (8, 4, 2):
        if -(-width // factor) >= target[0] and -(-height // factor) >= target[1]:
            return factor
    return 1


def _offsets(contents: pa.Array) -> np.ndarray:
    """The value offsets of a (large) binary array, slice offset included."""
    kind = np.int64 if pa.types.is_large_binary(contents.type) else np.int32
    offsets = np.frombuffer(contents.buffers()[1], dtype=kind)
    return offsets[contents.offset : contents.offset + len(contents) + 1]
