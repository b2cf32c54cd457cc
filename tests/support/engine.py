"""An ordertower engine on a controllable clock, for tests: the API and the simulators run
in-process (httpx ASGI transports, one event loop), the worker is stepped by hand, and time
moves only when the test says so. Nothing sleeps."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import httpx

from ordertower.adapters.callouts import HttpCallouts
from ordertower.bootstrap import bootstrap
from ordertower.domain.clock import ManualClock
from ordertower.entrypoints.api.app import create_app
from ordertower.simulators import create_simulators_app

from .live import ORDERS, make_settings

ORCHESTRATION_CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "orchestration"


def order_body(*items: tuple[str, str, dict[str, Any]], customer: str = "cust-1",
               customer_type: str = "Individual", **extra: Any) -> dict[str, Any]:
    body = {"relatedParty": [{"id": customer, "role": "customer", "@referredType": customer_type}],
            "productOrderItem": [
                {"id": item_id, "action": "add", "productOffering": {"id": offering},
                 "product": {"productCharacteristic": [{"name": k, "value": v} for k, v in attrs.items()]}}
                for item_id, offering, attrs in items]}
    body.update(copy.deepcopy(extra))
    return body


class EngineHarness:
    def __init__(self, database_url: str, catalog: str | Path = ORCHESTRATION_CATALOG, **overrides: Any):
        self.loop = asyncio.new_event_loop()
        self.clock = ManualClock()
        api_transport: dict[str, Any] = {}
        self.sims = create_simulators_app(callback_client_factory=lambda: httpx.AsyncClient(
            transport=api_transport["t"], base_url="http://ordertower"))
        settings = make_settings(database_url, 0, catalog_path=str(catalog),
                                 simulators_url="http://sim", public_url="http://ordertower",
                                 jeopardy_seconds=0.0, **overrides)
        self.container = bootstrap(settings, clock=self.clock,
                                   callouts=HttpCallouts(transport=httpx.ASGITransport(app=self.sims)))
        self.app = create_app(self.container, start_workers=False)
        api_transport["t"] = httpx.ASGITransport(app=self.app)
        self.api_client = httpx.AsyncClient(transport=api_transport["t"], base_url="http://ordertower")
        self.sim_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.sims), base_url="http://sim")
        self.worker = self.run(self._make_worker())
        self.await_callbacks = True  # let the simulators' callbacks land after each step

    async def _make_worker(self):
        worker = self.container.make_worker(name="test-worker")
        worker.wakeup.bind()
        # health probes run in tasks of their own (engine/breaker.py): counted, so that
        # settle() knows a cycle sent none
        self._probes_sent = 0
        send_probe = worker.probes._probe

        def counted_probe(*args: Any):
            self._probes_sent += 1
            return send_probe(*args)

        worker.probes._probe = counted_probe
        return worker

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.sims.state.callbacks.cancel_all()
        self.run(self.api_client.aclose())
        self.run(self.sim_client.aclose())
        self.run(self.container.callouts.aclose())
        self.container.store.engine.dispose()
        self.loop.close()

    # --- driving the engine ---------------------------------------------------------------
    def step(self) -> int:
        """One worker cycle (housekeeping, claim, run, record), then let simulator callbacks land."""
        return self.run(self._cycle())[0]

    async def _cycle(self) -> tuple[int, bool]:
        """A worker cycle: how many items it claimed, and whether it was quiet: nothing ran
        (no claim, no breaker trial), no health probe was sent or in flight, no callback was
        on its way. A cycle's housekeeping comes before its claim, so after a quiet cycle
        with nothing claimed, another at the same time would find nothing either."""
        callbacks, probes = self.sims.state.callbacks, self.worker.probes
        quiet = not callbacks.pending and not probes._tasks
        probes_sent = self._probes_sent
        n = await self.worker.run_once()
        quiet = quiet and not self.worker._running and self._probes_sent == probes_sent
        await self.worker.drain()
        for _ in range(100 if self.await_callbacks else 0):
            if not callbacks.pending:
                break
            await asyncio.sleep(0.005)
        return n, quiet and not callbacks.pending and not probes._tasks

    def settle(self, max_cycles: int = 50) -> None:
        """Step until nothing more can run at the current time: a quiet cycle that claimed
        nothing, or two cycles in a row that claimed nothing."""
        for _ in range(max_cycles):
            n, quiet = self.run(self._cycle())
            if n == 0 and (quiet or self.step() == 0):
                return
        raise AssertionError("the engine did not settle")

    def advance(self, **delta: float) -> None:
        self.clock.advance(**delta)

    # --- the API as a client sees it --------------------------------------------------------
    def api(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.run(self.api_client.request(method, url, **kwargs))

    def place(self, body: dict[str, Any]) -> str:
        resp = self.api("POST", ORDERS, json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()["id"]

    def order(self, order_id: str) -> dict[str, Any]:
        return self.api("GET", f"{ORDERS}/{order_id}").json()

    def items(self, order_id: str) -> dict[str, dict[str, Any]]:
        """Plan items by step id (or key when a step appears on several lines)."""
        items = self.api("GET", f"/api/v1/orders/{order_id}/plan").json()["items"]
        out: dict[str, dict[str, Any]] = {}
        for item in items:
            step = item["key"].rsplit("#", 1)[-1] if "#" in item["key"] else item["key"]
            out[item["key"] if step in out else step] = item
        return out

    def item(self, order_id: str, step: str) -> dict[str, Any]:
        return self.items(order_id)[step]

    def history(self, order_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v1/orders/{order_id}/history").json()["events"]

    def simulator(self, system: str) -> dict[str, Any]:
        return self.run(self.sim_client.get(f"/{system}")).json()

    def set_simulator(self, system: str, **settings: Any) -> None:
        resp = self.run(self.sim_client.put(f"/{system}", json=settings))
        assert resp.status_code == 200, resp.text
