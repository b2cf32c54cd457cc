"""Callouts go out through several small connection pools, each request to the pool with the
fewest requests in flight (adapters/callouts.py): httpcore looks at every connection of a
pool for every request, so hundreds of callouts in flight through one pool of 1,000
connections cost a worker more than the callouts themselves (issue 11). A few callouts at a
time still share one pool, so they reuse its kept-alive connections."""

from __future__ import annotations

import asyncio
import math

import httpx

from ordertower.adapters.callouts import SHARD_CONNECTIONS, HttpCallouts
from ordertower.engine.ports import CalloutReply


class HeldTransport(httpx.AsyncBaseTransport):
    """A system that answers only when told to, noting which pool each request came through."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(int(request.headers["X-Pool-Probe"]))
        await self.release.wait()
        return httpx.Response(200, json={"ok": True})


def _send(callouts: HttpCallouts, n: int):
    return callouts.send("POST", "http://system.test/x", json={"n": n},
                         headers={"X-Pool-Probe": str(n)}, timeout=5)


def test_a_thousand_connections_are_kept_in_pools_of_at_most_sixteen():
    callouts = HttpCallouts(max_connections=1000)
    assert len(callouts._clients) == math.ceil(1000 / SHARD_CONNECTIONS)
    assert all(c._transport._pool._max_connections <= SHARD_CONNECTIONS for c in callouts._clients)
    assert sum(c._transport._pool._max_connections for c in callouts._clients) >= 1000
    asyncio.run(callouts.aclose())


def test_concurrent_callouts_spread_over_the_pools_and_one_at_a_time_share_the_first():
    async def scenario():
        transport = HeldTransport()
        callouts = HttpCallouts(transport=transport, max_connections=64)  # 4 pools of 16
        assert len(callouts._clients) == 4
        # 40 at once: 10 in each pool, none in one pool beyond its share
        sends = [asyncio.create_task(_send(callouts, n)) for n in range(40)]
        while len(transport.seen) < 40:
            await asyncio.sleep(0)
        assert sorted(callouts._in_flight) == [10, 10, 10, 10]
        transport.release.set()
        replies = await asyncio.gather(*sends)
        assert all(isinstance(r, CalloutReply) and r.status_code == 200 for r in replies)
        assert callouts._in_flight == [0, 0, 0, 0]
        # one at a time: always the first pool (its connections are reused)
        used = []
        for n in range(5):
            transport.release.clear()
            seen = len(transport.seen)
            task = asyncio.create_task(_send(callouts, n))
            while len(transport.seen) == seen:
                await asyncio.sleep(0)
            used.append(callouts._in_flight.index(1))
            transport.release.set()
            await task
        assert used == [0] * 5
        await callouts.aclose()
    asyncio.run(scenario())


class CookieSettingSystem(httpx.AsyncBaseTransport):
    """A system whose every answer sets a session cookie, noting the Cookie header it got."""

    def __init__(self) -> None:
        self.cookies_sent: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.cookies_sent.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"ok": True},
                              headers={"Set-Cookie": "session=abc123; Path=/"})


def test_a_cookie_one_answer_sets_is_never_sent_with_the_next_callout():
    async def scenario():
        system = CookieSettingSystem()
        callouts = HttpCallouts(transport=system, max_connections=16)
        replies = [await _send(callouts, n) for n in range(3)]
        await callouts.aclose()
        return system, replies
    system, replies = asyncio.run(scenario())
    assert all(r.status_code == 200 for r in replies)
    assert system.cookies_sent == [None, None, None]
