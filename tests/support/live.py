"""A real ordertower server on a free loopback port, in a background thread, for tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ordertower.bootstrap import Container, bootstrap
from ordertower.config import Settings
from ordertower.domain.clock import Clock
from ordertower.domain.lifecycle import FINAL_ORDER_STATES
from ordertower.entrypoints.api.app import create_app

ROOT = Path(__file__).resolve().parents[2]
SEED_ORDER = json.loads((ROOT / "examples" / "phone-and-plan.json").read_text())
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(RuntimeError):
    """Another server bound the port between free_port() and this server's bind."""


class LiveServer:
    def __init__(self, container: Container, port: int, start_workers: bool = True):
        self.container = container
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(container, start_workers=start_workers)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        headers = {}
        if container.settings.bootstrap_key:
            headers["Authorization"] = f"Bearer {container.settings.bootstrap_key}"
        self.client = httpx.Client(base_url=self.url, timeout=30, headers=headers)

    def _serve(self) -> None:
        try:
            self.server.run()
        except SystemExit:  # uvicorn exits when it cannot bind: start() says why
            pass

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() and _taken(self.port):
                raise PortTaken(self.port)
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.client.close()
        self.container.store.engine.dispose()

    # --- helpers that read like the API a client uses ---------------------------------

    def post_order(self, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(ORDERS, json=SEED_ORDER if body is None else body, **kwargs)

    def order(self, order_id: str) -> dict[str, Any]:
        resp = self.client.get(f"{ORDERS}/{order_id}")
        resp.raise_for_status()
        return resp.json()

    def plan(self, order_id: str) -> dict[str, Any]:
        resp = self.client.get(f"/api/v1/orders/{order_id}/plan")
        resp.raise_for_status()
        return resp.json()

    def wait_for(self, order_id: str, states=FINAL_ORDER_STATES, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_id)
            if order["state"] in states:
                return order
            if time.monotonic() > deadline:
                plan = self.plan(order_id)
                summary = [(i["key"], i["state"], i["attempts"], i["last_error"]) for i in plan["items"]]
                raise AssertionError(f"order {order_id} still {order['state']} after {timeout}s: {summary}")
            time.sleep(0.05)

    def wait_for_item(self, order_id: str, key: str, states: set[str], timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            item = next(i for i in self.plan(order_id)["items"] if i["key"] == key)
            if item["state"] in states:
                return item
            if time.monotonic() > deadline:
                raise AssertionError(f"{key} still {item['state']} after {timeout}s")
            time.sleep(0.05)

    def simulator(self, system: str) -> dict[str, Any]:
        return self.client.get(f"/simulators/{system}").json()

    def set_simulator(self, system: str, **settings: Any) -> None:
        self.client.put(f"/simulators/{system}", json=settings).raise_for_status()


def make_settings(database_url: str, port: int, **overrides: Any) -> Settings:
    settings = Settings(database_url=database_url, port=port, workers=1, auth=False,
                        lease_seconds=5.0, poll_seconds=0.05, bootstrap_key=None)
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def _taken(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start_server(database_url: str, *, start_workers: bool = True, clock: Clock | None = None,
                 **overrides: Any) -> LiveServer:
    """A server on a free port (on ``clock``, if given). A free port is only free when asked
    for: when another test's server bound it first, this one starts again on another (three
    tries)."""
    for attempt in range(3):
        port = free_port()
        container = bootstrap(make_settings(database_url, port, **overrides), clock=clock)
        if container.settings.auth:
            from ordertower.services.access import ensure_admin_key
            ensure_admin_key(container.store, container.settings.bootstrap_key)
        server = LiveServer(container, port, start_workers=start_workers)
        try:
            return server.start()
        except PortTaken:
            server.stop()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
