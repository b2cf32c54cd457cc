"""A TMF hub listener for tests: a small HTTP server on a loopback port, in a thread, that
keeps every notification POSTed to it and answers with the status the test sets."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from .live import free_port



class Listener:
    def __init__(self, port: int | None = None, status: int = 201):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/listener"
        self.status = status
        self.received: list[dict[str, Any]] = []  # answered 2xx, in arrival order
        self.refused = 0  # answered otherwise
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "Listener":
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if not raw or len(raw) < length:
                    # the sender went away mid-request (a server stopped while it delivered):
                    # nothing was delivered, and there is nobody to answer
                    self.close_connection = True
                    return
                body = json.loads(raw)
                with listener._lock:
                    status = listener.status
                    if 200 <= status < 300:
                        listener.received.append(body)
                    else:
                        listener.refused += 1
                payload = b'{"busy": true}' if status >= 300 else b""
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def events(self, order_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            got = list(self.received)
        if order_id is None:
            return got
        return [e for e in got if _order_of(e) == order_id]

    def wait_for(self, condition: Callable[[list[dict[str, Any]]], bool], timeout: float = 30,
                 what: str = "the notifications") -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.events()
            if condition(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not arrive in {timeout}s; got "
                                     f"{[(e['eventType'], _order_of(e)) for e in got]}")
            time.sleep(0.02)


def _order_of(event: dict[str, Any]) -> str | None:
    inner = event.get("event") or {}
    if "productOrder" in inner:
        return inner["productOrder"].get("id")
    if "cancelProductOrder" in inner:
        return inner["cancelProductOrder"]["productOrder"]["id"]
    if "product" in inner:
        items = inner["product"].get("productOrderItem") or [{}]
        return items[0].get("productOrderId")
    return None
