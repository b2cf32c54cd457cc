"""An in-memory unit of work (the ports of engine/ports.py, the parts the item life cycle
uses), for millisecond tests of the engine's and services' handlers without a database
(as cosmicpython's FakeUnitOfWork)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from ordertower.domain.clock import ManualClock
from ordertower.domain.item_spec import ItemSpec
from ordertower.domain.lifecycle import FINAL_ITEM_STATES, ItemState
from ordertower.domain.stored_plan import NewPlanItem

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


class FakeOrders:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.lines: dict[tuple[str, int, str], dict[str, Any]] = {}

    def get(self, order_id: str, *, for_update: bool = False, whole: bool = True) -> dict[str, Any] | None:
        row = self.rows.get(order_id)
        return dict(row) if row else None

    def update(self, order_id: str, **values: Any) -> None:
        self.rows[order_id].update(values)

    def compare_and_set(self, order_id: str, expected_state: str, **values: Any) -> bool:
        if self.rows[order_id]["state"] != expected_state:
            return False
        self.rows[order_id].update(values)
        return True

    def line(self, order_id: str, revision: int, line_id: str) -> dict[str, Any] | None:
        return self.lines.get((order_id, revision, line_id))

    def update_line_attributes(self, order_id: str, revision: int, line_id: str,
                               attributes: dict[str, Any]) -> None:
        self.lines[(order_id, revision, line_id)]["attributes"] = attributes

    def lines_by_id(self, keys: Iterable[tuple[str, int, str]]) -> dict[tuple[str, int, str], dict[str, Any]]:
        return {key: dict(self.lines[key]) for key in keys if key in self.lines}

    def update_lines_attributes(self, attributes: dict[tuple[str, int, str], dict[str, Any]]) -> None:
        for (order_id, revision, line_id), values in attributes.items():
            self.update_line_attributes(order_id, revision, line_id, values)


class FakePlan:
    def __init__(self, uow: "FakeUnitOfWork") -> None:
        self.uow = uow
        self.rows: dict[str, dict[str, Any]] = {}
        self.edges: list[tuple[str, str]] = []  # (item, depends on)
        self.released_count = 0

    def get(self, item_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        row = self.rows.get(item_id)
        return dict(row) if row else None

    def update_item(self, item_id: str, expected_state: str, **values: Any) -> bool:
        if self.rows[item_id]["state"] != expected_state:
            return False
        self.rows[item_id].update(values)
        return True

    def successors(self, item_id: str) -> list[str]:
        return [item for item, dep in self.edges if dep == item_id]

    def decrement_pending(self, ids: list[str], now: datetime) -> list[dict[str, Any]]:
        for item_id in ids:
            self.rows[item_id]["pending_deps"] -= 1
        return [self.get(i) for i in ids
                if self.rows[i]["pending_deps"] <= 0 and self.rows[i]["state"] == ItemState.PENDING]

    def released(self) -> None:
        self.released_count += 1

    def progress_of(self, orders: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
        out = {}
        for order_id, order in orders.items():
            mine = [r for r in self.rows.values() if r["order_id"] == order_id]
            current = [r for r in mine if r["revision"] == order["revision"]]
            out[order_id] = {
                "anything_open": any(r["state"] not in FINAL_ITEM_STATES for r in mine),
                "anything_in_fallout": any(r["state"] == ItemState.FALLOUT for r in current),
                "started": any(r.get("started_at") is not None and r["step_id"] != "plan-order"
                               for r in current)}
        return out

    def key_of(self, item_id: str) -> str:
        return self.rows[item_id]["key"]

    def set_spec(self, item_id: str, spec: ItemSpec) -> None:
        self.rows[item_id]["spec"] = spec

    def set_specs(self, specs: dict[str, ItemSpec]) -> None:
        for item_id, spec in specs.items():
            self.set_spec(item_id, spec)

    def insert_new(self, order_id: str, items: list[NewPlanItem], edges: list[dict[str, str]],
                   now: datetime) -> list[dict[str, Any]]:
        rows = []
        for item in items:
            p = item.planned
            rows.append({"id": item.id, "order_id": order_id, "revision": item.revision,
                         "key": p.key, "position": item.position, "line_id": p.line_id,
                         "step_id": p.step_id, "name": p.name, "type": p.type, "system": p.system,
                         "state": item.state, "ponr": p.ponr, "depends_on": p.depends_on,
                         "pending_deps": item.pending_deps, "root_item_ids": p.root_item_ids,
                         "attempts": 0, "spec": p.spec, "started_at": None, "finished_at": None,
                         "jeopardy": None, "lease_owner": None})
        for row in rows:
            self.rows[row["id"]] = row
        self.edges += [(e["item_id"], e["depends_on_id"]) for e in edges]
        return rows


class FakeEvents:
    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    def add(self, type_: str, payload: dict[str, Any], at: datetime, *, order_id: str | None = None,
            item_id: str | None = None) -> None:
        self.added.append({"type": type_, "order_id": order_id, "item_id": item_id, **payload})


class FakeOrchestration:
    def __init__(self) -> None:
        self.offline: set[str] = set()
        self.tasks: dict[str, dict[str, Any]] = {}

    def offline_systems(self) -> set[str]:
        return set(self.offline)

    def task_for_item(self, item_id: str) -> dict[str, Any] | None:
        return next((t for t in self.tasks.values() if t["item_id"] == item_id), None)

    def update_task(self, task_id: str, **values: Any) -> None:
        self.tasks[task_id].update(values)


class FakeFalloutWork:
    """Fallout assignment rules (in order) and the assignments they make."""

    def __init__(self) -> None:
        self.rule_rows: list[dict[str, Any]] = []
        self.assigned: dict[str, dict[str, Any]] = {}

    def rules(self) -> list[dict[str, Any]]:
        return list(self.rule_rows)

    def assign(self, row: dict[str, Any]) -> None:
        self.assigned[row["item_id"]] = dict(row)

    def unassign(self, item_id: str) -> None:
        self.assigned.pop(item_id, None)


class FakeChanges:
    def __init__(self) -> None:
        self.cancel_requests: dict[str, dict[str, Any]] = {}

    def cancels(self, order_id: str, state: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.cancel_requests.values()
                if r["order_id"] == order_id and (state is None or r["state"] == state)]

    def update_cancel(self, cancel_id: str, **values: Any) -> None:
        self.cancel_requests[cancel_id].update(values)


class FakeUnitOfWork:
    """One in-memory "database": entering it again sees what earlier ones committed (the
    fake does not roll back; the handlers under test commit nothing half-way)."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.orders = FakeOrders()
        self.plan = FakePlan(self)
        self.events = FakeEvents()
        self.orchestration = FakeOrchestration()
        self.changes = FakeChanges()
        self.fallout_work = FakeFalloutWork()
        self.committed = 0

    def __enter__(self) -> "FakeUnitOfWork":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def commit(self) -> None:
        self.committed += 1

    def rollback(self) -> None:
        pass

    # --- arranging a world ----------------------------------------------------------------

    def order(self, order_id: str = "o1", state: str = "inProgress", revision: int = 1) -> dict:
        self.orders.rows[order_id] = {"id": order_id, "state": state, "revision": revision,
                                      "jeopardy": None, "customer_id": "c1"}
        return self.orders.get(order_id)

    def item(self, key: str, state: str = "running", *, order_id: str = "o1", after: Iterable[str] = (),
             system: str | None = "network", spec: ItemSpec | None = None, attempts: int = 1,
             revision: int = 1, type_: str = "callout") -> dict[str, Any]:
        deps = list(after)
        row = {"id": key, "order_id": order_id, "revision": revision, "key": key, "position": 0,
               "line_id": None, "step_id": key, "name": key, "type": type_, "system": system,
               "state": state, "ponr": False, "depends_on": deps, "root_item_ids": ["1"],
               "pending_deps": sum(1 for d in deps if self.plan.rows[d]["state"] not in
                                   (ItemState.COMPLETED, ItemState.SKIPPED)),
               "attempts": attempts, "spec": spec or ItemSpec(), "started_at":
               START - timedelta(seconds=1) if state != "pending" and state != "ready" else None,
               "finished_at": None, "jeopardy": None, "lease_owner": "w1" if state == "running" else None}
        self.plan.rows[key] = row
        self.plan.edges += [(key, d) for d in deps]
        return self.plan.get(key)

    def state_of(self, key: str) -> str:
        return self.plan.rows[key]["state"]

    def transitions(self, key: str) -> list[str]:
        return [e["to"] for e in self.events.added
                if e["type"] == "PlanItemStateChangeEvent" and e["item_id"] == key]


class FakeStore:
    """A Store whose units of work are one FakeUnitOfWork."""

    def __init__(self, uow: FakeUnitOfWork | None = None) -> None:
        self.fake = uow or FakeUnitOfWork()
        self.clock = self.fake.clock

    def uow(self) -> FakeUnitOfWork:
        return self.fake

    def read(self) -> FakeUnitOfWork:
        return self.fake

    def writers_waiting(self) -> bool:
        return False

    def on_work_released(self, listener) -> None:  # pragma: no cover - not used by handlers
        pass
