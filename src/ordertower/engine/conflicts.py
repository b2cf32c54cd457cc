"""Running a use case again when its transaction loses a race.

``@retrying`` re-runs the whole use case, each try in a fresh unit of work, when it failed
with a ConcurrentChange: a compare-and-set that found the row changed, or a
TransactionConflict the store raised for a deadlock, a serialization failure, a lock not
available or a busy SQLite (adapters/store/unit_of_work.py). A few tries with jittered
exponential back-off; then the ConcurrentChange goes to the caller (a 409 problem, never a
500), except a SQLite database still locked after every try: that is no race lost to one other
request but a database locked too long, a DatabaseUnavailable (503 with Retry-After). The decorated function must be a whole use case: it opens its own units of work and may
be run again from the start (what it committed before failing must be safe to find done).
"""

from __future__ import annotations

import functools
import random
import time
from typing import Any, Callable, TypeVar

import structlog

from ..domain.errors import ConcurrentChange, DatabaseUnavailable

T = TypeVar("T")
log = structlog.get_logger("ordertower.engine")
TRIES = 5
BASE_DELAY_S = 0.02  # back-off before try n: uniform(0, min(MAX, BASE * 2**n)) ("full jitter")
MAX_DELAY_S = 0.5
_jitter = random.Random()


def retrying(fn: Callable[..., T] | None = None, *, tries: int = TRIES,
             sleep: Callable[[float], None] | None = None) -> Any:
    """Decorator: run a whole use case again (up to ``tries`` times, with jittered back-off)
    when it fails with a ConcurrentChange. After the last try, that ConcurrentChange."""
    def decorate(f: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(f)
        def run(*args: Any, **kwargs: Any) -> T:
            for attempt in range(1, tries + 1):
                try:
                    return f(*args, **kwargs)
                except ConcurrentChange as exc:
                    reason = getattr(exc, "reason", "concurrent change")
                    if attempt == tries:
                        log.warning("transaction conflict: giving up", use_case=f.__qualname__,
                                    reason=reason, tries=tries)
                        if reason == "database is locked":
                            raise DatabaseUnavailable("locked too long") from exc
                        raise
                    delay = _jitter.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2 ** attempt))
                    log.warning("transaction conflict: trying again", use_case=f.__qualname__,
                                reason=reason, attempt=attempt, delay_ms=round(delay * 1000))
                    (sleep or time.sleep)(delay)
            raise AssertionError("unreachable")  # pragma: no cover
        return run
    return decorate(fn) if fn is not None else decorate
