"""Waiting for a condition, never for a fixed time: the one polling helper of the tests."""

from __future__ import annotations

import time
from typing import Any, Callable


def wait_until(condition: Callable[[], Any], timeout: float = 30, what: str = "the condition",
               poll: float = 0.02) -> Any:
    """Poll ``condition`` until it answers something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(poll)
