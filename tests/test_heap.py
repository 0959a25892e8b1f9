"""Heap tuning around bulk work: measured by the kernel's own page-fault counter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from lakehouse.heap import recycled_allocations

MB = 1 << 20


def _minor_faults() -> int:
    with open(f"/proc/{os.getpid()}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[7])


def _window_churn() -> int:
    """Page faults of an ingest-like pattern: read 64 MB as 70 KB files, pack them in 4 MB
    blocks, free everything; twice (the second window is the one that should reuse)."""
    before = _minor_faults()
    for _ in range(2):
        files = [os.urandom(1) * (70 * 1024) for _ in range(64 * MB // (70 * 1024))]
        packs = [b"".join(files[i : i + 56]) for i in range(0, len(files), 56)]
        del files, packs
    return _minor_faults() - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc only")
def test_recycled_allocations_fault_in_far_fewer_pages_and_restore_the_defaults():
    _window_churn()  # warm up what a first use of these sizes costs either way
    default = _window_churn()
    with recycled_allocations():
        _window_churn()  # the first window inside still grows the heap once
        with recycled_allocations():  # reentrant
            recycled = _window_churn()
    assert recycled < default / 3, (recycled, default)
    assert _window_churn() > recycled  # the defaults are back: freed memory goes again


def test_long_lived_frozen_nests_across_threads_and_unfreezes_at_the_end():
    """In a fresh interpreter: the freeze is process-wide, and the test session's own threads
    (Ray's, pyiceberg's) must not blur what is measured."""
    code = textwrap.dedent(
        """
        import gc, sys, threading
        from lakehouse.heap import long_lived_frozen, recycled_allocations

        with long_lived_frozen():
            frozen = gc.get_freeze_count()
            with long_lived_frozen():
                assert gc.get_freeze_count() >= frozen > 0
        assert gc.get_freeze_count() == 0

        sys.setswitchinterval(1e-6)  # switch threads as often as possible
        def work():
            for _ in range(2000):
                with long_lived_frozen(), recycled_allocations():
                    pass
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert gc.get_freeze_count() == 0
        with long_lived_frozen():
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
