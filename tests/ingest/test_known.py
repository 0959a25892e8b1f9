"""DigestSet: exact membership over 16-byte digest prefixes, NUL bytes included."""

from __future__ import annotations

import hashlib

import pyarrow as pa

from lakehouse.ingest.known import DigestSet


def test_members_and_strangers_over_two_batches():
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    known = DigestSet([pa.array(ids[:1000]), pa.array(ids[1000:2000]), pa.array([])])
    assert len(known) == 2000
    assert all(i in known for i in ids[:2000])
    assert not any(i in known for i in ids[2000:])
    assert None not in known and 42 not in known


def test_prefixes_ending_in_nul_bytes_are_found():
    # numpy's fixed-width bytes strip trailing NULs; a prefix ending in 00 must still match
    ending_in_nul = "ab" * 8 + "00" * 8 + "cd" * 16
    all_nul = "00" * 32
    known = DigestSet([pa.array([ending_in_nul, all_nul])])
    assert ending_in_nul in known and all_nul in known
    assert "ab" * 8 + "00" * 7 + "01" + "cd" * 16 not in known
    assert "00" * 15 + "01" + "00" * 16 not in known
    assert DigestSet([]).__contains__(all_nul) is False
