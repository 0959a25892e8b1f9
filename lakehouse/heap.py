"""Keep Python's cyclic garbage collector off the objects that outlive an operation.

A driver that has imported Ray, pyiceberg, SQLAlchemy and pydantic tracks ~200,000 container
objects, and every full collection walks all of them. An ingest builds a few dicts per file,
enough to trigger dozens of full collections: about a quarter of the ingest driver's CPU
(py-spy, 2,000 images). `gc.freeze()` moves what exists now to a permanent generation that
collections skip; what the operation allocates is collected as usual, and `gc.unfreeze()`
hands the frozen objects back when it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0


@contextmanager
def long_lived_frozen() -> Iterator[None]:
    """Freeze the current heap for the duration of the block (reentrant)."""
    global _depth
    if _depth == 0:
        gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()
