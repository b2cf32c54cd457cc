"""A fulfillment system that misbehaves: answers garbage (a 200 that is not JSON, a wrong
content type, a huge body), hangs past its time-out, or drops the connection mid-answer. Each
such item is retried, then falls out with a clear error; the worker keeps running and the
other orders complete. The system is a real HTTP server (a thread), registered in a test
catalog; nothing is mocked."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CATALOG = """
version: "misbehaving-test"
systems:
  - id: flaky
    base_url: "http://127.0.0.1:{port}"
    timeout: 1s
    retry: {{strategy: fixed, interval: 50ms, max_attempts: 3}}
    # each misbehaviour's own retries and fallout are the point here; a breaker would hold
    # the items once five fail in a row (tests/integration/test_circuit_breaker.py)
    breaker: {{enabled: false}}
products:
  - id: gadget
    attributes:
      - {{name: mode, type: enum, values: [garbage, html, huge, hang, drop, ok], required: true}}
technical_products:
  - id: call
    attributes:
      - {{name: mode, type: string}}
rules:
  - {{id: call, source: gadget, target: call, mappings: {{mode: {{copy: mode}}}}}}
scenarios:
  - product: call
    items:
      - {{id: call, type: callout, system: flaky, request: {{method: POST, path: "/${{mode}}"}}}}
"""


class MisbehavingSystem(ThreadingHTTPServer):
    """Answers by the path it is called on; counts the requests of each path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()  # the hanging requests end when the test does
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def handle_error(self, request, client_address) -> None:
        pass  # ordertower hanging up on a huge answer is what the test wants

    def close(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MisbehavingSystem

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        mode = self.path.strip("/")
        with self.server.lock:
            self.server.calls[mode] = self.server.calls.get(mode, 0) + 1
        if mode == "garbage":
            self._answer(200, "application/json", b"<html>Gateway says hello</html>")
        elif mode == "html":
            self._answer(200, "text/html", b"<html><body>Login required</body></html>")
        elif mode == "huge":  # 8 MiB of valid JSON, no Content-Length: read until it ends
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b'{"padding": "')
            for _ in range(8 * 1024):
                self.wfile.write(b"x" * 1024)
            self.wfile.write(b'"}')
            self.close_connection = True
        elif mode == "hang":
            self.server.release.wait(30)
            self.close_connection = True
        elif mode == "drop":  # promises 1,000 bytes, sends a few, hangs up
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n{\"id\": \"par")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self._answer(200, "application/json", json.dumps({"id": "T-1"}).encode())


def _order(mode: str) -> dict:
    return {"relatedParty": [{"id": f"cust-{mode}", "role": "customer"}],
            "productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": "gadget"},
                                  "product": {"productCharacteristic": [{"name": "mode", "value": mode}]}}]}


@pytest.fixture
def system():
    server = MisbehavingSystem()
    yield server
    server.close()


MISBEHAVIOURS = {  # mode -> what the item's last error must say
    "garbage": "flaky answered 200 with a body that is not JSON",
    "html": "flaky answered 200 with content type text/html, not JSON",
    "huge": "flaky answered 200 with a body over 1024 KiB",
    "hang": "time-out: no complete answer within 1 s",
    "drop": "connection error",
}


@pytest.mark.timeout(120)
def test_garbage_hangs_and_dropped_connections_fall_out_after_retries_and_others_proceed(
        server_factory, system, tmp_path: Path):
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "catalog.yaml").write_text(CATALOG.format(port=system.server_address[1]))
    server = server_factory(catalog_path=str(catalog))

    bad = {mode: server.post_order(_order(mode)).json()["id"] for mode in MISBEHAVIOURS}
    good = [server.post_order(_order("ok")).json()["id"] for _ in range(3)]

    for order_id in good:
        assert server.wait_for(order_id)["state"] == "completed"
    for mode, order_id in bad.items():
        order = server.wait_for(order_id, states={"held"}, timeout=60)
        (item,) = [i for i in server.plan(order_id)["items"] if i["type"] == "callout"]
        assert (item["state"], item["attempts"]) == ("fallout", 3), (mode, item)
        assert MISBEHAVIOURS[mode] in item["last_error"], (mode, item["last_error"])
        assert system.calls[mode] == 3, (mode, system.calls)
        assert order["state"] == "held"

    fallout = server.client.get("/api/v1/fallout").json()
    assert fallout["count"] == len(MISBEHAVIOURS)
    assert server.container.workers_alive()
    late = server.post_order(_order("ok")).json()["id"]  # the worker still takes work
    assert server.wait_for(late)["state"] == "completed"
