"""A team on the engine harness with access control on: the bootstrap admin, and users made
through the API (``POST /api/v1/keys`` with their queues), each calling with their own key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ordertower.services.access import ensure_admin_key

from .engine import EngineHarness, order_body

PEOPLE_CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalogs" / "people"
ADMIN_KEY = "otk_people_admin_key_for_tests"
ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


class Team:
    """``world`` is the harness (its own client acts as the admin); ``keys`` the users' keys."""

    def __init__(self, database_url: str):
        self.world = EngineHarness(database_url, catalog=PEOPLE_CATALOG, auth=True, bootstrap_key=ADMIN_KEY)
        ensure_admin_key(self.world.container.store, ADMIN_KEY)
        self.world.api_client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        self.keys: dict[str, str] = {}

    def close(self) -> None:
        self.world.close()

    def add_user(self, name: str, role: str, queues: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "role": role}
        if queues is not None:
            body["queues"] = queues
        resp = self.world.api("POST", "/api/v1/keys", json=body)
        assert resp.status_code == 201, resp.text
        self.keys[name] = resp.json()["key"]
        return resp.json()

    def as_(self, name: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.world.api(method, url, headers={"Authorization": f"Bearer {self.keys[name]}"}, **kwargs)

    def fiber(self, speed: int = 500, customer: str = "cust-1") -> str:
        order_id = self.world.place(order_body(("1", "fiber", {"speed": speed}), customer=customer))
        self.world.settle()
        return order_id

    def gadget_in_fallout(self, colour: str = "red", customer: str = "cust-2") -> tuple[str, str]:
        """A gadget order whose one call fails (no retries): its item is in fallout."""
        self.world.set_simulator("network", fail_next=1)
        order_id = self.world.place(order_body(("1", "gadget", {"colour": colour}), customer=customer))
        self.world.settle()
        assert self.world.order(order_id)["state"] == "held"
        return order_id, self.world.item(order_id, "call")["id"]

    def tasks(self, order_id: str) -> list[dict[str, Any]]:
        return [t for t in self.world.api("GET", "/api/v1/tasks").json() if t["order"] == order_id]

    def task(self, order_id: str, state: str | None = None) -> dict[str, Any]:
        [task] = [t for t in self.tasks(order_id) if state is None or t["state"] == state]
        return task

    def audit(self, action: str, **filters: str) -> list[dict[str, Any]]:
        return self.world.api("GET", "/api/v1/audit", params={"action": action, **filters}).json()
