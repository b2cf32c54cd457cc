"""A system's rate limit: at most `rate` starts per second per worker, after a burst of `rate`.
Run on a controllable clock: sleeping moves the clock, nothing waits for real."""

from __future__ import annotations

import asyncio

from ordertower.engine.worker import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def start_times(rate: float, starts: int) -> list[float]:
    time = FakeTime()
    limiter = RateLimiter(rate, clock=time.clock, sleep=time.sleep)

    async def run() -> list[float]:
        out = []
        for _ in range(starts):
            await limiter.acquire()
            out.append(time.now - 1000.0)
        return out

    return asyncio.run(run())


def test_a_burst_of_rate_starts_goes_at_once():
    assert start_times(rate=20, starts=20) == [0.0] * 20


def test_starts_beyond_the_burst_are_spread_at_the_rate():
    times = start_times(rate=20, starts=30)

    later = times[20:]
    assert [round(t, 6) for t in later] == [round(0.05 * n, 6) for n in range(1, 11)]


def test_a_system_slower_than_one_call_a_second_starts_one_then_one_per_interval():
    times = start_times(rate=0.5, starts=3)  # one at once, then one every two seconds
    assert [round(t, 6) for t in times] == [0.0, 2.0, 4.0]
