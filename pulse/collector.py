"""Pause Python's cyclic garbage collector around the kernel's batch work.

A batch (``process_many``, a restore, a replay after a late fact) keeps every event and
out-event alive while it runs, so each full collection rescans a heap that only grows:
on the bench stream that was 17-24% of the batch time, for nothing, because the kernel
builds no reference cycles (a test checks that a batch leaves no cyclic garbage). Memory
is still freed by reference counting as usual; only cycle detection waits for the batch
to end.

The pause is process-wide, so it nests and is shared by threads: the collector is
switched back on when the last pauser leaves, and only if it was on when the first came.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the ``with`` body with the cyclic collector off (see the module docstring)."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
