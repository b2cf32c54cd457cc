"""Callouts go out through aiohttp's connection pool under httpx's client
(adapters/callouts.py): one pool of at most ``max_connections`` connections, kept alive and
reused, no cookies kept or sent, and every way a system can fail to answer reported as what
it is (a time-out, a connection lost or refused, an answer too large). A real HTTP server on
a loopback socket (asyncio streams), nothing mocked."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from ordertower.adapters.callouts import HttpCallouts
from ordertower.engine.ports import CalloutFailure, CalloutReply


class System:
    """A fulfillment system on a loopback port, answering by path: ``/ok`` (a JSON answer that
    sets a session cookie), ``/held`` (answers once released), ``/hang`` (never answers),
    ``/drop`` (promises 1,000 bytes, sends a few, hangs up), ``/huge`` (2 MiB of JSON). Counts
    its connections, and notes the Cookie header of every request."""

    def __init__(self) -> None:
        self.open = self.peak = self.connections = 0
        self.cookies: list[str | None] = []
        self.release = asyncio.Event()
        self.held = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self.release.set()
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.connections += 1
        self.peak = max(self.peak, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                path = lines[0].split()[1]
                headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                await reader.readexactly(int(headers.get("content-length", 0)))
                self.cookies.append(headers.get("cookie"))
                if path == "/held":
                    self.held += 1
                    await self.release.wait()
                if path == "/hang":
                    await asyncio.sleep(30)
                if path == "/drop":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 1000\r\n\r\n{\"id\": \"par")
                    await writer.drain()
                    return
                body = (json.dumps({"padding": "x" * 2 * 1024 * 1024}) if path == "/huge"
                        else json.dumps({"ok": True, "path": path})).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Set-Cookie: session=abc123; Path=/\r\n"
                             + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


def _send(callouts: HttpCallouts, url: str, timeout: float = 5):
    return callouts.send("POST", url, json={"n": 1}, headers={"Idempotency-Key": "k"}, timeout=timeout)


def _scenario(body, max_connections: int = 1000):
    async def run():
        system = System()
        base = await system.start()
        callouts = HttpCallouts(max_connections=max_connections)
        try:
            return await body(system, base, callouts)
        finally:
            await callouts.aclose()
            await system.stop()
    return asyncio.run(run())


def test_sequential_callouts_reuse_one_kept_alive_connection_and_carry_no_cookie():
    async def body(system, base, callouts):
        return system, [await _send(callouts, f"{base}/ok") for _ in range(20)]
    system, replies = _scenario(body)
    assert all(isinstance(r, CalloutReply) and r.status_code == 200 and r.body["ok"] for r in replies)
    assert system.connections == 1  # every answer set a cookie; none was sent back
    assert system.cookies == [None] * 20


def test_callouts_in_flight_never_open_more_connections_than_the_pool_allows():
    async def body(system, base, callouts):
        sends = [asyncio.create_task(_send(callouts, f"{base}/held")) for _ in range(40)]
        while system.held < 8:  # the pool's 8 connections are all busy; 32 callouts wait
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        busy = system.held
        system.release.set()
        return busy, await asyncio.gather(*sends), system.peak
    busy, replies, peak = _scenario(body, max_connections=8)
    assert busy == 8 and peak == 8
    assert all(isinstance(r, CalloutReply) and r.status_code == 200 for r in replies)


@pytest.mark.parametrize("path, kind, detail", [
    ("/hang", "timeout", "no complete answer within 0.5 s"),
    ("/drop", "connection", ""),
    ("/huge", "oversized", "answered 200 with a body over 1024 KiB"),
])
def test_a_system_that_fails_to_answer_is_reported_as_what_happened(path, kind, detail):
    async def body(system, base, callouts):
        return await _send(callouts, f"{base}{path}", timeout=0.5)
    failure = _scenario(body)
    assert isinstance(failure, CalloutFailure) and failure.kind == kind, failure
    assert detail in failure.detail


def test_a_system_that_refuses_the_connection_is_a_connection_failure_not_a_time_out():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def body(system, base, callouts):
        return await _send(callouts, f"http://127.0.0.1:{port}/ok", timeout=2)
    failure = _scenario(body)
    assert isinstance(failure, CalloutFailure) and failure.kind == "connection", failure
