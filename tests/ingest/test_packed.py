"""Byte strings packed end to end and read back as one Arrow array over the same memory."""

from __future__ import annotations

import numpy as np
import pytest

from lakehouse.ingest.packed import pack, unpack
from lakehouse.samples import make_jpeg


def test_round_trip_keeps_every_chunk_including_empty_ones_without_copying():
    chunks = [make_jpeg(1), b"", make_jpeg(2), b"\x00"]
    packed = pack(chunks)
    array = unpack([len(c) for c in chunks], packed)
    assert array.to_pylist() == chunks
    # the values buffer is the packed array's memory, not a copy of it
    assert array.buffers()[2].address == packed.__array_interface__["data"][0]
    assert array.slice(2, 2).to_pylist() == chunks[2:]


def test_sizes_that_do_not_add_up_are_refused():
    with pytest.raises(ValueError, match="add up to 5 bytes"):
        unpack([2, 3], np.zeros(4, np.uint8))
