"""Pausing CPython's cyclic garbage collector around large bursts of allocation.

Taking a 10,000-item order makes hundreds of thousands of small, long-lived objects (the
parsed body, validated items, lines, plan items, rows). While they accumulate the
collector rescans them again and again: more than half the time of such a request, for no
garbage (none of it is cyclic garbage). Large orders are handled with the collector paused;
it resumes when the last pause ends. Pauses nest across threads.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_pausers = 0
_resume = False  # whether the collector was on when the first pause began


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    global _pausers, _resume
    if not pause:
        yield
        return
    with _lock:
        _pausers += 1
        if _pausers == 1:
            _resume = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0 and _resume:
                gc.enable()
