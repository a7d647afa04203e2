"""Long loops that allocate many small objects: cyclic garbage collected less often.

CPython runs its cycle collector after every 700 new container objects, and now and
then over every object the process holds. An import or an export makes hundreds of
thousands of short-lived tuples and dicts per second beside a large, long-lived heap
(a site's term automaton, a chunk of records), so that collection took more than
half of building a site's scrubber. Within :func:`bulk` the collector runs after
:data:`BULK_THRESHOLD` new containers instead.

Invariants:

* Garbage is still collected, cycles too: only less often, so memory held by cycles
  grows by at most one threshold's worth of objects between collections.
* The thresholds are the process's: the first of overlapping ``bulk`` blocks (threads
  of a server) raises them, the last one out restores what they were before (a
  threshold other code sets meanwhile is replaced then).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from typing import Final

__all__ = ["BULK_THRESHOLD", "bulk"]

BULK_THRESHOLD: Final = 50_000
_LOCK = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Collect cyclic garbage after :data:`BULK_THRESHOLD` new objects, not 700."""
    global _depth, _saved  # noqa: PLW0603 - one setting for the whole process
    with _LOCK:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], BULK_THRESHOLD), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
