"""A system's rate limit: at most `rate` starts per second per worker, after a burst of `rate`."""

from __future__ import annotations

import asyncio
import time

from ordertower.engine.worker import RateLimiter


def test_starts_beyond_the_burst_are_spread_at_the_rate():
    async def thirty_starts() -> float:
        limiter = RateLimiter(rate=20)
        begin = time.monotonic()
        for _ in range(30):
            await limiter.acquire()
        return time.monotonic() - begin

    elapsed = asyncio.run(thirty_starts())

    assert elapsed >= 0.45  # 20 at once, the next 10 at 20 per second
    assert elapsed < 3
