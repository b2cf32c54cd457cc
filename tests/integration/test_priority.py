"""TMF622 ``priority`` orders the claims of plan items (issue 10, defect 6), on SQLite and
PostgreSQL: with the warehouse taking one request at a time and a backlog waiting, a
priority-0 order's shipment goes before those of priority-4 orders placed earlier; and a
priority-4 order that has waited long enough is not starved by newer priority-0 orders."""

from __future__ import annotations

import pytest

from ..support.catalogs import system, write_catalog
from ..support.engine import EngineHarness, order_body
from ..support.live import ORDERS

AGING = 60.0  # seconds of waiting that count as one priority level


def _one_at_a_time(docs):
    system(docs, "warehouse")["concurrency"] = 1


@pytest.fixture
def world(database_url, tmp_path):
    harness = EngineHarness(database_url, catalog=write_catalog(tmp_path / "cat", _one_at_a_time),
                            priority_aging_seconds=AGING)
    yield harness
    harness.close()


def _phone(world, name: str, priority) -> str:
    extra = {} if priority is None else {"priority": priority}
    return world.place(order_body((name, "phone", {"model": "Fairphone 5", "color": "blue"}),
                                  customer=f"cust-{name}", **extra))


def _shipped(world) -> list[str]:
    """Order ids of the device shipments the warehouse received, in the order received."""
    return [r["body"]["order"] for r in world.simulator("warehouse")["requests"] if r["body"].get("kind") == "device"]


def _ship_one_by_one(world, n: int) -> None:
    for _ in range(n):
        world.step()


def test_a_priority_0_order_ships_before_earlier_priority_4_orders(world):
    backlog = [_phone(world, f"low{n}", "4") for n in range(3)]
    usual = _phone(world, "usual", None)  # no priority: the middle (2)
    urgent = _phone(world, "urgent", "0")

    _ship_one_by_one(world, 6)

    assert _shipped(world) == [urgent, usual] + backlog


def test_an_old_priority_4_order_is_not_starved_by_newer_priority_0_orders(world):
    old = _phone(world, "old", "4")
    world.advance(seconds=4 * AGING + 1)  # waited more than 4 levels' worth
    newer = [_phone(world, f"new{n}", "0") for n in range(2)]

    _ship_one_by_one(world, 5)

    assert _shipped(world) == [old] + newer


def test_priority_is_zero_to_four(world):
    for bad in ("5", "high", -1, True, 1.5):
        body = order_body(("1", "phone", {"model": "Fairphone 5"}), priority=bad)
        resp = world.api("POST", ORDERS, json=body)
        assert resp.status_code == 400, (bad, resp.text)
        assert "priority" in {e["field"] for e in resp.json()["errors"]}
    assert world.api("POST", ORDERS, json=order_body(("1", "phone", {"model": "Fairphone 5"}),
                                                     priority=3)).status_code == 201
