"""Intake (issue 11): a steady rate of `POST productOrder` (W orders) on the default
`ordertower serve` (its worker processes running the orders as they arrive), on a fresh
database.

The load is open-loop: request i is due at start + i / rate whatever the earlier requests
are doing (each its own task; a keep-alive connection is reused when one is idle, else a new
one is opened), and its time to `201` is counted from when it was due, so a server that
stalls is not hidden by a client that waits for it. Errors: any answer but 201, and any
request without an answer within 30 s.

Figure: p99 (and p50, max) time to 201. Baseline, same run and rate: the same load for a
shorter time on `serve --workers 0` (the API alone). Goal: p99 under 50 ms, no errors.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from urllib.parse import urlparse

from order_bodies import w_order
from support import (ORDERS, W_CATALOG, Context, Reader, Row, Serve, TempDatabase, fmt_ms, percentile,
                     say)

GOAL_P99 = 0.050
TIMEOUT = 30.0  # seconds without an answer: an error


class RawClient:
    """A minimal HTTP/1.1 client on asyncio streams for the open-loop load: an idle keep-alive
    connection is reused, else a new one is opened (no pool limit, no queue: each request is
    sent when it is due). httpx's pool, with a thousand connections and thousands of waiting
    requests, spent more CPU than the server under test."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: bytes = b"",
                      content_type: str = "application/json") -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        conn = None
        while self.idle and conn is None:  # the most recently used idle connection still open
            candidate = self.idle.pop()
            if candidate[0].at_eof():
                candidate[1].close()
            else:
                conn = candidate
        for attempt in (0, 1):
            reused = conn is not None
            if conn is None:
                conn = await self._open()
            try:
                return await self._exchange(conn, head + body)
            except (ConnectionError, asyncio.IncompleteReadError, _Closed):
                conn[1].close()
                conn = None
                if not reused or attempt:  # only a reused connection the server closed is retried
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, conn, raw: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        writer.write(raw)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise _Closed()
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            data = b""
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        elif length is not None:
            data = await reader.readexactly(length)
        else:
            data, close = await reader.read(), True
        if close:
            writer.close()
        else:
            self.idle.append(conn)
        return status, data

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


class _Closed(Exception):
    """The server closed the connection before answering."""


async def _open_loop(url: str, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    n = max(1, int(rate * seconds))
    bodies = [json.dumps(w_order(i, tag=tag), separators=(",", ":")).encode() for i in range(n)]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    u = urlparse(url)
    client = RawClient(u.hostname or "127.0.0.1", u.port or 80)
    loop = asyncio.get_running_loop()
    try:
        for _ in range(3):  # a connection and a first request outside the measurement
            await client.request("GET", "/health/live")
        start = loop.time() + 0.05

        async def one(i: int) -> None:
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                status, _ = await asyncio.wait_for(client.request("POST", ORDERS, bodies[i]), TIMEOUT)
                if status == 201:
                    latencies.append(loop.time() - due)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, _Closed, ValueError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        await asyncio.gather(*(one(i) for i in range(n)))
        sent_in = loop.time() - start
    finally:
        client.close()
    return {"sent": n, "ok": len(latencies), "errors": errors, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "max": max(latencies, default=0.0), "took": sent_in,
            "connections": client.opened}


def load(url: str, rate: float, seconds: float, tag: str) -> dict[str, Any]:
    return asyncio.run(_open_loop(url, rate, seconds, tag))


def run_intake(ctx: Context, kind: str, workers: int | None, rate: float, seconds: float) -> dict[str, Any]:
    label = f"intake-{kind}-" + ("default" if workers is None else f"{workers}w")
    folder = ctx.folder / label
    folder.mkdir(parents=True, exist_ok=True)
    with TempDatabase(kind, folder, tag="intake") as db:
        serve = Serve(folder, db.url, catalog=W_CATALOG, workers=workers)
        try:
            serve.wait_ready()
            say(f"{label}: {rate:g} orders/s for {seconds:g} s on serve"
                + ("" if workers is None else f" --workers {workers}"))
            result = load(serve.url, rate, seconds, label)
            reader = Reader(db.url)
            try:
                result["items"] = reader.items_done_of()
            finally:
                reader.close()
            return result
        finally:
            serve.stop()


def _describe(r: dict[str, Any]) -> str:
    return f"p99 {fmt_ms(r['p99'])} (p50 {fmt_ms(r['p50'])}, max {fmt_ms(r['max'])})"


def run(ctx: Context) -> list[Row]:
    opts = ctx.options
    rate = opts.intake_rate or (20 if ctx.quick else 100)
    seconds = opts.intake_seconds or (1 if ctx.quick else 60)
    base_seconds = opts.intake_baseline_seconds or (0.5 if ctx.quick else 15)
    rows = []
    for kind in ctx.databases:
        base = run_intake(ctx, kind, 0, rate, base_seconds)
        r = run_intake(ctx, kind, None, rate, seconds)  # the default serve
        done, total = r["items"]
        errors = sum(r["errors"].values()) + sum(base["errors"].values())
        say(f"intake-{kind}: {_describe(r)}, errors {r['errors']}; API only: {_describe(base)}, "
            f"errors {base['errors']}; the worker finished {done} of {total} plan items meanwhile")
        met = r["p99"] < GOAL_P99 and not r["errors"]
        note = (f"{r['sent']} orders sent in {r['took']:.1f} s; its workers finished {done:,} of {total:,} "
                f"plan items meanwhile")
        if errors:
            note += f"; errors: default serve {r['errors'] or 'none'}, API only {base['errors'] or 'none'}"
        rows.append(Row(f"intake {kind} ({rate:g} orders/s, {seconds:g} s, default serve)",
                        _describe(r) + f", {sum(r['errors'].values())} errors",
                        f"p99 {fmt_ms(base['p99'])} API only ({base_seconds:g} s)",
                        r["p99"] / base["p99"] if base["p99"] else None, "p99 < 50 ms, no errors", met, note))
    return rows
