"""Many byte strings end to end in one numpy array, read back as one Arrow array, no copy.

Ray hands a numpy array in a task's result to the driver as a view of its object store, where
a `bytes` object would be copied out; Arrow then wraps the same memory. So image and frame
bytes cross from a worker to the driver's Parquet writer with no copy in the driver (copies
into fresh memory were a large share of the ingest driver's CPU).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def pack(chunks: Sequence[bytes]) -> np.ndarray:
    """The chunks end to end, as uint8."""
    return np.frombuffer(b"".join(chunks), np.uint8)


def unpack(sizes: Sequence[int], packed: np.ndarray) -> pa.LargeBinaryArray:
    """The chunks of `packed` (of these sizes, in order) as an Arrow array over its memory."""
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    if offsets[-1] != len(packed):
        raise ValueError(f"sizes add up to {offsets[-1]} bytes, the array has {len(packed)}")
    return pa.Array.from_buffers(
        pa.large_binary(), len(sizes), [None, pa.py_buffer(offsets), pa.py_buffer(packed)]
    )
