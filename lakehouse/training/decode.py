"""Decode a block of stored images to pixels for training, in the worker that read them.

OpenCV decodes straight from the Arrow buffer (no copy per image) into the asked channel order,
and resizes into the block's array. When a JPEG is at least twice the target size on both
sides, libjpeg's DCT scaling decodes it at 1/2, 1/4 or 1/8 size (`IMREAD_REDUCED_*`): the image
is then within 2x of the target, where bilinear resizing does not alias (Pillow's draft +
bilinear does the same). Images more than 2x larger than the target, which DCT scaling could
not bring near, are area-averaged (INTER_AREA, ~5x the cost of bilinear, measured). OpenCV
applies EXIF orientation as usual. This module never calls `cv2.setNumThreads`: a forked
DataLoader worker doing so after its parent used OpenCV hangs (DESIGN.md).

Integrity is not this module's job (ingest decoded every asset strictly and `verify` re-hashes
them); a stored image that fails to decode here is an error naming its asset.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pyarrow as pa

from lakehouse.errors import LakehouseError

_MODES = {"rgb": cv2.IMREAD_COLOR_RGB, "bgr": cv2.IMREAD_COLOR_BGR, "gray": cv2.IMREAD_GRAYSCALE}
# The scale bits alone (the GRAYSCALE variants carry no color bit): combined with a mode.
_SCALES = {
    1: 0,
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
    images = _decoded(rows, mode, resize)
    if resize is None:
        return [image.reshape(image.shape[0], image.shape[1], -1) for image in images]
    return _resized(images, rows.num_rows, resize, 1 if mode == "gray" else 3)


def _decoded(rows: pa.Table, mode: str, resize: tuple[int, int] | None) -> Iterator[np.ndarray]:
    """Each row's image, decoded (at reduced size when the target allows), one at a time."""
    contents = rows["content"].combine_chunks()
    offsets = _offsets(contents)
    buffer = contents.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    facts = zip(
        rows["asset_id"].to_pylist(),
        rows["format"].to_pylist(),
        rows["width"].to_pylist(),
        rows["height"].to_pylist(),
        rows["exif_orientation"].to_pylist(),
        strict=True,
    )
    for i, (asset_id, fmt, width, height, orientation) in enumerate(facts):
        flags = _SCALES[_reduction(fmt, width, height, orientation, resize)] | _MODES[mode]
        image = cv2.imdecode(data[offsets[i] : offsets[i + 1]], flags)
        if image is None:
            raise LakehouseError(f"asset {asset_id}: its stored {fmt} bytes do not decode")
        yield image


def _resized(
    images: Iterator[np.ndarray], count: int, size: tuple[int, int], channels: int
) -> np.ndarray:
    """One (n, H, W, C) array; each image resized straight into its place."""
    out = np.empty((count, size[1], size[0], channels), np.uint8)
    for i, image in enumerate(images):
        target = out[i, :, :, 0] if channels == 1 else out[i]
        if image.shape[:2] == target.shape[:2]:
            target[...] = image
            continue
        # Area averaging beyond 2x downscaling, else bilinear (which does not alias within 2x).
        far = image.shape[1] >= 2 * size[0] or image.shape[0] >= 2 * size[1]
        interpolation = cv2.INTER_AREA if far else cv2.INTER_LINEAR
        cv2.resize(image, size, dst=target, interpolation=interpolation)
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
