"""Repositories: the SQL behind the unit of work. Rows come back as plain dicts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...domain.decomposition import FulfillmentLine
from ...domain.ids import new_id
from ...engine.actors import current_actor
from ...domain.jeopardy import GREEN
from ...domain.lifecycle import ItemState, OrderState
from ...domain.planning import Plan
from ...domain.priority import claim_rank, order_priority
from ...domain.stored_plan import NewPlanItem
from .orchestration import OrchestrationRepository
from .statements import chunks as _chunks, index_scans_only, insert_rows
from .tables import (CLAIMABLE, OPEN_ITEM, assets, events, fulfillment_lines, item_attempts, orders, plan_item_edges,
                     plan_items)

if TYPE_CHECKING:  # pragma: no cover
    from .unit_of_work import SqlUnitOfWork

# an order's columns but the TMF body and items (what writers that lock many orders read)
_ORDER_STATE = [c for c in orders.c if c.name not in ("body", "items")]
# what releasing an item reads of it (its state change, its event): not its spec, output
# and dependency lists, which cost a JSON decoding each
_RELEASED = [plan_items.c[name] for name in ("id", "order_id", "revision", "key", "name", "type",
                                             "system", "state", "attempts", "step_id")]

# PostgreSQL: the engine's per-item UPDATEs of a set as one statement over arrays. psycopg's
# executemany sends the rows together, but the server still executes one statement per row
# (SQLite's executemany runs in process: it keeps the portable form). ``id = ANY(:ids)``
# beside the join: without it the planner joined the array to a sequential scan of every
# plan item (a hash join), each set; with it, it reads the items through the primary key.

# what completing a running item clears (complete_running, on either database)
_CLEARED_ON_COMPLETION = ("last_error", "deadline_at", "lease_owner", "lease_until")


def _pg_complete(reached: bool) -> sa.TextClause:
    """complete_running's statement on PostgreSQL: running items completed, or (``reached``)
    pending ones run and completed at once, their attempt counted."""
    started = ("attempts = plan_items.attempts + 1, started_at = COALESCE(plan_items.started_at, :now), "
               "not_before = NULL, " if reached else "")
    return sa.text(
        "UPDATE plan_items SET state = :completed, output = u.output, finished_at = :now, "
        "updated_at = :now, jeopardy = :green, " + started
        + ", ".join(f"{name} = NULL" for name in _CLEARED_ON_COMPLETION) + " "
        "FROM unnest(CAST(:ids AS varchar[]), CAST(:outputs AS jsonb[])) AS u(id, output) "
        "WHERE plan_items.id = u.id AND plan_items.id = ANY(CAST(:ids AS varchar[])) "
        "AND plan_items.state = :expected")


_PG_COMPLETE = {reached: _pg_complete(reached) for reached in (False, True)}

_PG_DECREMENT_PENDING = sa.text(
    "UPDATE plan_items SET pending_deps = plan_items.pending_deps - u.n, updated_at = :now "
    "FROM unnest(CAST(:ids AS varchar[]), CAST(:ns AS integer[])) AS u(id, n) "
    "WHERE plan_items.id = u.id AND plan_items.id = ANY(CAST(:ids AS varchar[])) RETURNING "
    + ", ".join(f"plan_items.{c.name}" for c in _RELEASED) + ", plan_items.pending_deps"
).columns(*_RELEASED, plan_items.c.pending_deps)


def _freed(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Of these items (``_RELEASED`` and their ``pending_deps``), those a decrement left free
    of dependencies and still pending, without their counter."""
    return [{k: v for k, v in r.items() if k != "pending_deps"} for r in rows
            if r["pending_deps"] <= 0 and r["state"] == ItemState.PENDING.value]


class OrderRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, row: dict[str, Any]) -> None:
        # the values as parameters, not in the statement: one cached statement for every
        # order, where .values(**row) built a new one and walked the whole TMF body for its
        # cache key
        self.conn.execute(orders.insert(), row)

    def get(self, order_id: str, *, for_update: bool = False, whole: bool = True) -> dict[str, Any] | None:
        """The order; ``whole=False``: without its TMF body and items (what the engine's
        writers need; a large order's body is megabytes of JSON to read and parse)."""
        q = sa.select(*(orders.c if whole else _ORDER_STATE)).where(orders.c.id == order_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def update(self, order_id: str, **values: Any) -> None:
        self.conn.execute(orders.update().where(orders.c.id == order_id).values(**values))

    def compare_and_set(self, order_id: str, expected_state: str, **values: Any) -> bool:
        """Change an order if it is still in ``expected_state`` (guards against races)."""
        res = self.conn.execute(orders.update().where(
            orders.c.id == order_id, orders.c.state == expected_state).values(**values))
        return res.rowcount == 1

    def compare_and_set_many(self, order_ids: list[str], expected_state: str, **values: Any) -> int:
        """``compare_and_set`` for many orders; how many changed."""
        return sum(self.conn.execute(orders.update().where(
            orders.c.id.in_(chunk), orders.c.state == expected_state).values(**values)).rowcount
            for chunk in _chunks(order_ids))

    def lock_many(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Lock these orders in id order, waiting for each (engine/locks.py: writers that
        need several orders take them in one order, so they cannot deadlock each other).
        Their columns without the TMF body and items (large; ``get`` reads them)."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(order_ids))):
            q = sa.select(*_ORDER_STATE).where(orders.c.id.in_(chunk)).order_by(orders.c.id).with_for_update()
            out += [dict(r) for r in self.conn.execute(q).mappings().all()]
        return out

    def lock_free_many(self, order_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Those of these orders nobody holds now, locked (``lock_if_free`` for many; without
        the body and items)."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(order_ids))):
            q = (sa.select(*_ORDER_STATE).where(orders.c.id.in_(chunk)).order_by(orders.c.id)
                 .with_for_update(skip_locked=True))
            out += [dict(r) for r in self.conn.execute(q).mappings().all()]
        return out

    def lock_acknowledged(self, order_ids: list[str]) -> list[dict[str, Any]]:
        """Lock the acknowledged orders among these, skipping any locked by someone else
        (without their body and items)."""
        if not order_ids:
            return []
        q = (sa.select(*_ORDER_STATE).where(orders.c.id.in_(order_ids), orders.c.state == "acknowledged")
             .with_for_update(skip_locked=True))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def lock_if_free(self, order_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(orders).where(orders.c.id == order_id)
                                .with_for_update(skip_locked=True)).mappings().first()
        return dict(row) if row else None

    def by_reference(self, ref: str) -> dict[str, Any] | None:
        """An order by its id or, failing that, its externalId (the newest one)."""
        row = self.conn.execute(sa.select(orders).where(orders.c.id == ref)).mappings().first()
        if row is None:
            row = self.conn.execute(sa.select(orders).where(orders.c.external_id == ref)
                                    .order_by(orders.c.created_at.desc())).mappings().first()
        return dict(row) if row else None

    def open_ids(self, limit: int = 1000) -> list[str]:
        return list(self.conn.execute(sa.select(orders.c.id).where(
            orders.c.state.in_(["acknowledged", "inProgress", "held"]))
            .order_by(orders.c.updated_at).limit(limit)).scalars())

    def list(self, filters: dict[str, Any], offset: int, limit: int) -> tuple[list[dict], int]:
        q = sa.select(orders)
        conds = []
        for name, value in filters.items():
            if name == "relatedParty.id":
                conds.append(orders.c.customer_id == value)
            else:
                conds.append(getattr(orders.c, name) == value)
        if conds:
            q = q.where(*conds)
        total = self.conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = self.conn.execute(q.order_by(orders.c.created_at.desc(), orders.c.id)
                                 .offset(offset).limit(limit)).mappings().all()
        return [dict(r) for r in rows], total

    def newest_items(self, limit: int) -> list[dict[str, Any]]:
        """The newest orders' ids, customers and validated items (catalog deploy --dry-run)."""
        rows = self.conn.execute(sa.select(orders.c.id, orders.c.customer_id, orders.c["items"])
                                 .order_by(orders.c.created_at.desc(), orders.c.id.desc())
                                 .limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    SEARCH_COLUMNS = ("id", "external_id", "state", "customer_id", "revision", "order_date",
                      "requested_completion_date", "completion_date", "jeopardy",
                      "projected_completion", "created_at", "updated_at")

    def search(self, *, state: str | None = None, jeopardy: str | None = None,
               customer: str | None = None, external_id: str | None = None,
               created_from: datetime | None = None, created_to: datetime | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """The newest orders matching every filter given (the console's order list), without
        their bodies. ``jeopardy``: a level, or ``any`` for YELLOW and RED."""
        q = sa.select(*(orders.c[name] for name in self.SEARCH_COLUMNS))
        if state:
            q = q.where(orders.c.state == state)
        if jeopardy == "any":
            q = q.where(orders.c.jeopardy.in_(("YELLOW", "RED")))
        elif jeopardy:
            q = q.where(orders.c.jeopardy == jeopardy)
        if customer:
            q = q.where(orders.c.customer_id == customer)
        if external_id:
            q = q.where(orders.c.external_id == external_id)
        if created_from:
            q = q.where(orders.c.created_at >= created_from)
        if created_to:
            q = q.where(orders.c.created_at < created_to)
        rows = self.conn.execute(q.order_by(orders.c.created_at.desc(), orders.c.id.desc())
                                 .limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def lines(self, order_id: str, revision: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            sa.select(fulfillment_lines)
            .where(fulfillment_lines.c.order_id == order_id, fulfillment_lines.c.revision == revision)
            .order_by(fulfillment_lines.c.position)).mappings().all()
        return [dict(r) for r in rows]

    def line(self, order_id: str, revision: int, line_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(fulfillment_lines).where(
            fulfillment_lines.c.order_id == order_id, fulfillment_lines.c.revision == revision,
            fulfillment_lines.c.line_id == line_id)).mappings().first()
        return dict(row) if row else None

    def get_many(self, order_ids: Iterable[str], *, whole: bool = True) -> dict[str, dict[str, Any]]:
        """These orders by id (``whole=False``: without their body and items, as ``get``)."""
        out: dict[str, dict[str, Any]] = {}
        columns = orders.c if whole else _ORDER_STATE
        for chunk in _chunks(sorted(set(order_ids))):
            out.update((r["id"], dict(r)) for r in self.conn.execute(
                sa.select(*columns).where(orders.c.id.in_(chunk))).mappings())
        return out

    def lines_of(self, revisions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
        """Every line of each (order, revision), in position order."""
        out: dict[tuple[str, int], list[dict[str, Any]]] = {}
        c = fulfillment_lines.c
        for chunk in _chunks(sorted(set(revisions))):
            wanted = set(chunk)  # the pairs compared here (see open_of_revisions)
            q = (sa.select(fulfillment_lines).where(
                c.order_id.in_(sorted({o for o, _ in chunk})), c.revision.in_(sorted({r for _, r in chunk})))
                .order_by(c.order_id, c.revision, c.position))
            for r in self.conn.execute(q).mappings():
                if (r["order_id"], r["revision"]) in wanted:
                    out.setdefault((r["order_id"], r["revision"]), []).append(dict(r))
        return out

    def lines_by_id(self, keys: Iterable[tuple[str, int, str]]) -> dict[tuple[str, int, str], dict[str, Any]]:
        """These lines, by (order, revision, line id)."""
        out: dict[tuple[str, int, str], dict[str, Any]] = {}
        c = fulfillment_lines.c
        for chunk in _chunks(sorted(set(keys))):
            wanted = set(chunk)  # the triples compared here (see open_of_revisions)
            # each column of the unique index (order, revision, line) in a list of its own: the
            # index is searched for the lines; without the revision it walked every line of
            # the order (a 10,000-line order: 26,000 lines, 10 ms a read on PostgreSQL)
            q = sa.select(fulfillment_lines).where(
                c.order_id.in_(sorted({o for o, _, _ in chunk})),
                c.revision.in_(sorted({r for _, r, _ in chunk})),
                c.line_id.in_(sorted({line for _, _, line in chunk})))
            out.update(((r["order_id"], r["revision"], r["line_id"]), dict(r))
                       for r in self.conn.execute(q).mappings()
                       if (r["order_id"], r["revision"], r["line_id"]) in wanted)
        return out

    def update_line_attributes(self, order_id: str, revision: int, line_id: str,
                               attributes: dict[str, Any]) -> None:
        self.conn.execute(fulfillment_lines.update().where(
            fulfillment_lines.c.order_id == order_id, fulfillment_lines.c.revision == revision,
            fulfillment_lines.c.line_id == line_id).values(attributes=attributes))

    def update_lines_attributes(self, attributes: dict[tuple[str, int, str], dict[str, Any]]) -> None:
        """``update_line_attributes`` of many lines, by (order, revision, line id): one
        statement for all (executemany)."""
        if not attributes:
            return
        c = fulfillment_lines.c
        q = fulfillment_lines.update().where(
            c.order_id == sa.bindparam("b_order"), c.revision == sa.bindparam("b_revision"),
            c.line_id == sa.bindparam("b_line")).values(attributes=sa.bindparam("b_attributes"))
        self.conn.execute(q, [{"b_order": o, "b_revision": r, "b_line": line, "b_attributes": a}
                              for (o, r, line), a in attributes.items()])

    def add_lines(self, order_id: str, revision: int, lines: list[FulfillmentLine]) -> None:
        rows = [{"order_id": order_id, "revision": revision, "line_id": line.id, "position": pos,
                 "technical_product": line.technical_product, "action": line.action,
                 "attributes": line.attributes, "lineage": line.lineage, "rule_ids": line.rule_ids,
                 "scope": line.scope, "parent_line_id": line.parent_line_id,
                 "root_item_ids": line.root_item_ids, "inventory_key": line.inventory_key,
                 "previous": line.previous, "reason": line.reason} for pos, line in enumerate(lines)]
        for chunk in _chunks(rows):
            self.conn.execute(fulfillment_lines.insert(), chunk)


def _actor_of(payload: Any, acting: str) -> str:
    """The actor a payload names (an operator action's), else whoever is acting now."""
    named = payload.get("actor") if isinstance(payload, dict) else None
    return named if isinstance(named, str) and named else acting


class EventRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, type_: str, payload: dict[str, Any], at: datetime, *, order_id: str | None = None,
            item_id: str | None = None) -> None:
        self.add_many([{"type": type_, "payload": payload, "order_id": order_id, "item_id": item_id}], at)

    def add_many(self, rows: list[dict[str, Any]], at: datetime) -> None:
        acting = current_actor()
        full = [{"event_id": new_id(), "occurred_at": at, "order_id": None, "item_id": None,
                 "actor": _actor_of(r.get("payload"), acting), **r}
                for r in rows]
        insert_rows(self.conn, events, full)

    def for_order(self, order_id: str, types: Iterable[str] | None = None) -> list[dict[str, Any]]:
        q = sa.select(events).where(events.c.order_id == order_id)
        if types is not None:
            q = q.where(events.c.type.in_(list(types)))
        return [dict(r) for r in self.conn.execute(q.order_by(events.c.id)).mappings().all()]

    def after(self, last_id: int, limit: int = 500) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(events).where(events.c.id > last_id)
                                 .order_by(events.c.id).limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def audit(self, filters: dict[str, Any], offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
        """The audit log, newest first: events filtered by ``actor``, ``order``, ``action``
        (the event type), ``from`` and ``to`` (occurred at, inclusive); the total and a page."""
        where = []
        if "actor" in filters:
            where.append(events.c.actor == filters["actor"])
        if "order" in filters:
            where.append(events.c.order_id == filters["order"])
        if "action" in filters:
            where.append(events.c.type == filters["action"])
        if "from" in filters:
            where.append(events.c.occurred_at >= filters["from"])
        if "to" in filters:
            where.append(events.c.occurred_at <= filters["to"])
        total = self.conn.execute(sa.select(sa.func.count()).select_from(events)
                                  .where(*where)).scalar_one()
        rows = self.conn.execute(sa.select(events).where(*where).order_by(events.c.id.desc())
                                 .offset(offset).limit(limit)).mappings().all()
        return total, [dict(r) for r in rows]


class AssetRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add(self, row: dict[str, Any]) -> None:
        self.conn.execute(assets.insert(), row)

    def get(self, asset_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(assets).where(assets.c.id == asset_id)).mappings().first()
        return dict(row) if row else None

    def for_order_item(self, order_id: str, order_item_id: str) -> dict[str, Any] | None:
        row = self.conn.execute(sa.select(assets).where(
            assets.c.order_id == order_id, assets.c.order_item_id == order_item_id)).mappings().first()
        return dict(row) if row else None

    def list(self, filters: dict[str, Any], offset: int, limit: int) -> tuple[list[dict], int]:
        q = sa.select(assets)
        for name, value in filters.items():
            col = {"relatedParty.id": assets.c.customer_id, "productOffering.id": assets.c.offering_id,
                   "status": assets.c.status, "id": assets.c.id, "name": assets.c.name}[name]
            q = q.where(col == value)
        total = self.conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = self.conn.execute(q.order_by(assets.c.created_at.desc(), assets.c.id)
                                 .offset(offset).limit(limit)).mappings().all()
        return [dict(r) for r in rows], total


class PlanRepository:
    """Plan items: the work queue."""

    def __init__(self, conn: Connection, uow: "SqlUnitOfWork"):
        self.conn = conn
        self.uow = uow

    # --- writing a plan ---------------------------------------------------------------

    def add_plan(self, order_id: str, revision: int, plan: Plan, now: datetime,
                 not_before: datetime | None = None, first_position: int = 0,
                 priority: int | None = None) -> list[dict[str, Any]]:
        """Insert the plan's items and edges, each in the state it starts in
        (domain/stored_plan.initial_state); a skipped item holds back nothing. ``priority``:
        the order's (domain/priority.order_priority), if the caller has its body."""
        ids = {item.key: new_id() for item in plan.items}
        skipped = {item.key for item in plan.items if item.skip_reason}
        offline = OrchestrationRepository(self.conn).offline_systems()
        new = [NewPlanItem.start(item, id=ids[item.key], revision=revision,
                                 position=first_position + pos, not_before=not_before,
                                 open_dependencies=sum(1 for d in item.depends_on if d not in skipped),
                                 offline_systems=offline)
               for pos, item in enumerate(plan.items)]
        edges = [{"item_id": ids[i.key], "depends_on_id": ids[d]} for i in plan.items for d in i.depends_on]
        return self.insert_new(order_id, new, edges, now, priority=priority)

    def insert_new(self, order_id: str, items: list[NewPlanItem], edges: list[dict[str, str]],
                   now: datetime, priority: int | None = None) -> list[dict[str, Any]]:
        """Store new plan items and their edges; wakes workers when one starts ``ready``.
        ``priority``: the order's; None reads it from the order's body."""
        if priority is None:
            priority = order_priority(self.conn.execute(sa.select(orders.c.body).where(
                orders.c.id == order_id)).scalar())
        aging = self.uow.priority_aging_s
        rows = [_row_of(order_id, item, now) for item in items]
        for row in rows:
            row["priority"] = priority
            due = max(now, row["not_before"]) if row["not_before"] else now
            row["claim_rank"] = claim_rank(due, priority, aging)
        for chunk in _chunks(rows):
            self.conn.execute(plan_items.insert(), chunk)
        for chunk in _chunks(edges):
            self.conn.execute(plan_item_edges.insert(), chunk)
        if any(r["state"] == ItemState.READY for r in rows):
            self.released()
        return rows

    def released(self) -> None:
        """New work is ready: wake workers once this transaction commits."""
        self.uow.work_released = True
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(sa.text("SELECT pg_notify('ordertower_work', '')"))

    # --- reading ---------------------------------------------------------------------

    def get(self, item_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        q = sa.select(plan_items).where(plan_items.c.id == item_id)
        if for_update:
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def for_order(self, order_id: str, revision: int | None = None) -> list[dict[str, Any]]:
        q = sa.select(plan_items).where(plan_items.c.order_id == order_id)
        if revision is not None:
            q = q.where(plan_items.c.revision == revision)
        return [dict(r) for r in self.conn.execute(q.order_by(plan_items.c.revision,
                                                              plan_items.c.position)).mappings().all()]

    def open_of_revisions(self, revisions: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
        """The open items (not in a final state) of each order's revision (``revisions``:
        order id to revision), by order, in position order; only what jeopardy reads (their
        id, key, name, state, dependencies, expected duration, start and jeopardy): a large
        order's finished items and every item's spec are not read."""
        out: dict[str, list[dict[str, Any]]] = {o: [] for o in revisions}
        c = plan_items.c
        columns = [c.id, c.order_id, c.key, c.name, c.state, c.depends_on, c.expected_duration_s,
                   c.started_at, c.jeopardy]
        # by order id, the revision compared here: a list of (order, revision) pairs was
        # compared with every row (a sequential scan; 116 ms for 500 orders on PostgreSQL);
        # through the open items' index, without visiting the order's finished items
        for chunk in _chunks(sorted(revisions)):
            q = (sa.select(*columns, c.revision).where(c.order_id.in_(chunk), sa.text(OPEN_ITEM))
                 .order_by(c.order_id, c.position))
            for r in self.conn.execute(q).mappings():
                if r["revision"] == revisions[r["order_id"]]:
                    out[r["order_id"]].append({k: v for k, v in r.items() if k != "revision"})
        return out

    def attempts(self, item_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(sa.select(item_attempts).where(item_attempts.c.item_id == item_id)
                                 .order_by(item_attempts.c.attempt, item_attempts.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def attempts_of_order(self, order_id: str) -> list[dict[str, Any]]:
        """Every attempt of every item of the order (any revision), oldest first."""
        q = (sa.select(item_attempts).join(plan_items, plan_items.c.id == item_attempts.c.item_id)
             .where(plan_items.c.order_id == order_id)
             .order_by(item_attempts.c.started_at, item_attempts.c.id))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    # --- the queue -------------------------------------------------------------------

    def claim(self, worker: str, limit: int, now: datetime, lease_until: datetime,
              exclude_systems: Iterable[str] = (),
              capacity: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Claim up to ``limit`` due items (ready, or retrying whose time has come).

        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim at once.
        SQLite: the unit of work runs under ``BEGIN IMMEDIATE``, so claims are serialised.
        ``capacity`` caps how many more items of each system may start (its concurrency
        limit less what already runs, across all workers).
        """
        # due: no OR (not_before IS NULL OR ...), which PostgreSQL's planner answered with a
        # bitmap scan of (state, not_before) (see below); so it can walk the partial
        # claim-order index in order and stop at the limit
        due = sa.func.coalesce(plan_items.c.not_before, now) <= now
        q = sa.select(plan_items.c.id, plan_items.c.state).where(sa.text(CLAIMABLE), due)
        excluded = list(exclude_systems)
        if excluded:
            q = q.where(sa.or_(plan_items.c.system.is_(None), plan_items.c.system.not_in(excluded)))
        # the lowest claim rank first: higher priority, or longer due (domain/priority.py)
        q = q.order_by(plan_items.c.claim_rank, plan_items.c.created_at, plan_items.c.position).limit(limit)
        q = q.with_for_update(skip_locked=True)
        index_scans_only(self.conn, sequential_too=True)  # tests/integration/test_claim_plan.py
        picked = self.conn.execute(q).all()
        if capacity:
            picked_ids = {p.id for p in picked}
            systems = dict(self.conn.execute(sa.select(plan_items.c.id, plan_items.c.system)
                                             .where(plan_items.c.id.in_(list(picked_ids)))).all()) if picked else {}
            left = dict(capacity)
            kept = []
            for p in picked:
                system = systems.get(p.id)
                if system in left:
                    if left[system] <= 0:
                        continue
                    left[system] -= 1
                kept.append(p)
            picked = kept
        if not picked:
            return []
        ids = [p.id for p in picked]
        rows = self.conn.execute(plan_items.update().where(plan_items.c.id.in_(ids)).values(
            state=ItemState.RUNNING.value, lease_owner=worker, lease_until=lease_until,
            attempts=plan_items.c.attempts + 1, not_before=None, updated_at=now,
            started_at=sa.func.coalesce(plan_items.c.started_at, now)).returning(plan_items)).mappings().all()
        previous = {p.id: p.state for p in picked}
        return [dict(r) | {"previous_state": previous[r["id"]]} for r in rows]

    def expired(self, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
        """Running items whose lease has passed (candidates, not locked: engine/locks.py)."""
        index_scans_only(self.conn)
        q = (sa.select(plan_items).where(plan_items.c.state == ItemState.RUNNING.value,
                                         plan_items.c.lease_until < now)
             .order_by(plan_items.c.lease_until).limit(limit))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def renew_leases(self, worker: str, ids: list[str], until: datetime) -> tuple[int, list[str]]:
        """Extend the leases of this worker's running items among ``ids``, without ever
        waiting for a lock: a row someone else holds right now (an amendment, a recorder) is
        skipped (``FOR UPDATE SKIP LOCKED``). Returns how many were renewed and the ids
        skipped that way (still this worker's and running)."""
        renewed, busy = 0, []
        for chunk in _chunks(ids):
            mine = (plan_items.c.id.in_(chunk), plan_items.c.lease_owner == worker,
                    plan_items.c.state == ItemState.RUNNING.value)
            free = list(self.conn.execute(sa.select(plan_items.c.id).where(*mine)
                                          .with_for_update(skip_locked=True)).scalars())
            if free:
                renewed += self.conn.execute(plan_items.update().where(
                    plan_items.c.id.in_(free), *mine).values(lease_until=until)).rowcount
            if len(free) < len(chunk):
                held = set(self.conn.execute(sa.select(plan_items.c.id).where(*mine)).scalars())
                busy += sorted(held - set(free))
        return renewed, busy

    def lock_items(self, order_id: str, ids: Iterable[str], *,
                   skip_locked: bool = False) -> list[dict[str, Any]]:
        """These items of the order, locked (after the order itself: engine/locks.py); with
        ``skip_locked``, only those nobody else holds now."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(set(ids))):
            q = (sa.select(plan_items).where(plan_items.c.order_id == order_id, plan_items.c.id.in_(chunk))
                 .order_by(plan_items.c.revision, plan_items.c.position)
                 .with_for_update(skip_locked=skip_locked))
            out += [dict(r) for r in self.conn.execute(q).mappings().all()]
        return out

    def update_item(self, item_id: str, expected_state: str, **values: Any) -> bool:
        """Change an item if it is still in ``expected_state`` (guards against races). An item
        that becomes due (ready, or retrying at ``not_before``) takes its claim rank; one back
        from hold or from a worker that let it go keeps the rank it had."""
        keeps_rank = values.get("state") == ItemState.READY and expected_state in (
            ItemState.ON_HOLD, ItemState.RUNNING)
        if values.get("state") in (ItemState.READY, ItemState.RETRYING) and not keeps_rank:
            now = self.uow.clock.now()
            due = values.get("not_before") or now
            values["claim_rank"] = claim_rank(max(due, now), 0, 0) \
                + plan_items.c.priority * self.uow.priority_aging_s
        res = self.conn.execute(plan_items.update().where(
            plan_items.c.id == item_id, plan_items.c.state == expected_state).values(**values))
        return res.rowcount == 1

    def successors(self, item_id: str) -> list[str]:
        return list(self.conn.execute(sa.select(plan_item_edges.c.item_id)
                                      .where(plan_item_edges.c.depends_on_id == item_id)).scalars())

    def decrement_pending(self, ids: list[str], now: datetime) -> list[dict[str, Any]]:
        """One dependency of each item is done; return those now free of dependencies."""
        if not ids:
            return []
        self.conn.execute(plan_items.update().where(plan_items.c.id.in_(ids)).values(
            pending_deps=plan_items.c.pending_deps - 1, updated_at=now))
        rows = self.conn.execute(sa.select(plan_items).where(
            plan_items.c.id.in_(ids), plan_items.c.pending_deps <= 0,
            plan_items.c.state == ItemState.PENDING.value)).mappings().all()
        return [dict(r) for r in rows]

    def add_attempt(self, row: dict[str, Any]) -> None:
        self.conn.execute(item_attempts.insert(), row)

    # --- in sets: the worker's outcomes, many at a time (engine/completions.py) -----------

    def lock_by_ids(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """These items, locked (after their orders: engine/locks.py), by id."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(ids))):
            q = sa.select(plan_items).where(plan_items.c.id.in_(chunk)).order_by(
                plan_items.c.id).with_for_update()
            out.update((r["id"], dict(r)) for r in self.conn.execute(q).mappings())
        return out

    def add_attempts(self, rows: list[dict[str, Any]]) -> None:
        insert_rows(self.conn, item_attempts, rows)

    def complete_running(self, outputs: dict[str, dict[str, Any]], now: datetime, *,
                         reached: bool = False) -> int:
        """Running items (locked by the caller) completed, each with its output; their lease,
        deadline, error and jeopardy cleared. One statement for all (executemany).

        ``reached``: pending items instead, just freed of their dependencies, that do no work
        (engine/completions.py, milestones): run and completed in this one statement, their
        attempt counted and their start set, as a claim would have."""
        if not outputs:
            return 0
        expected = (ItemState.PENDING if reached else ItemState.RUNNING).value
        if self.conn.dialect.name == "postgresql":  # one statement on the server too
            return self.conn.execute(_PG_COMPLETE[reached], {
                "ids": list(outputs), "outputs": [json.dumps(o) for o in outputs.values()],
                "completed": ItemState.COMPLETED.value, "expected": expected,
                "now": now, "green": GREEN}).rowcount
        started = {"attempts": plan_items.c.attempts + 1, "not_before": None,
                   "started_at": sa.func.coalesce(plan_items.c.started_at, now)} if reached else {}
        q = (plan_items.update()
             .where(plan_items.c.id == sa.bindparam("b_id"), plan_items.c.state == expected)
             .values(state=ItemState.COMPLETED.value, output=sa.bindparam("b_output"),
                     finished_at=now, updated_at=now, jeopardy=GREEN, **started,
                     **dict.fromkeys(_CLEARED_ON_COMPLETION)))
        return self.conn.execute(q, [{"b_id": i, "b_output": o} for i, o in outputs.items()]).rowcount

    def successors_of(self, ids: Iterable[str]) -> list[tuple[str, str]]:
        """The edges out of these items: (successor, the item it depends on), one per edge."""
        out: list[tuple[str, str]] = []
        for chunk in _chunks(list(ids)):
            out += [(r[0], r[1]) for r in self.conn.execute(sa.select(
                plan_item_edges.c.item_id, plan_item_edges.c.depends_on_id).where(
                plan_item_edges.c.depends_on_id.in_(chunk)))]
        return out

    def decrement_pending_by(self, counts: dict[str, int], now: datetime) -> list[dict[str, Any]]:
        """``counts[id]`` dependencies of each item are done; return those now free of
        dependencies (still pending)."""
        if not counts:
            return []
        if self.conn.dialect.name == "postgresql":  # one statement on the server too
            return _freed(self.conn.execute(_PG_DECREMENT_PENDING, {
                "ids": list(counts), "ns": list(counts.values()), "now": now}).mappings())
        self.conn.execute(plan_items.update().where(plan_items.c.id == sa.bindparam("b_id")).values(
            pending_deps=plan_items.c.pending_deps - sa.bindparam("b_n"), updated_at=now),
            [{"b_id": i, "b_n": n} for i, n in counts.items()])
        out: list[dict[str, Any]] = []
        for chunk in _chunks(list(counts)):  # by id alone, filtered here (see make_ready)
            out += _freed(self.conn.execute(sa.select(*_RELEASED, plan_items.c.pending_deps).where(
                plan_items.c.id.in_(chunk))).mappings())
        return out

    def make_ready(self, ids: list[str], now: datetime) -> int:
        """Pending items whose dependencies are done (``decrement_pending_by`` found them, and
        locked them) become ready, due now (their claim rank as ``update_item`` gives it). One
        statement for all.

        By id alone: with ``state = 'pending'`` in the statement, PostgreSQL's planner, whose
        statistics of a queue are always stale, took the index on ``state`` for the more
        selective and walked thousands of pending items and dead entries."""
        if not ids:
            return 0
        rank = claim_rank(now, 0, 0) + plan_items.c.priority * self.uow.priority_aging_s
        total = 0
        for chunk in _chunks(ids):
            total += self.conn.execute(plan_items.update().where(plan_items.c.id.in_(chunk)).values(
                state=ItemState.READY.value, updated_at=now, claim_rank=rank)).rowcount
        return total

    def progress_of(self, orders_: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
        """For each of these orders (by id): whether an item of it is still open (any
        revision), whether an item of its current revision is in fallout, and, for an order
        not yet in progress, whether fulfilment has started (planning a large order is not
        fulfilment); the figures of domain/order_progress.py, for all of them in one query.

        Existence tests, not counts: the first two are answered from the open items' index
        (``ix_plan_items_open``: finished items are not in it), stopping at the first entry,
        so that settling a 34,000-item order after each set of outcomes costs what settling a
        7-item one does (the counts read every item of the order, each set). An order in
        progress is not asked whether it started (the test walks the order's items)."""
        if not orders_:
            return {}
        p = plan_items.alias("p")
        is_open = sa.text(f"p.{OPEN_ITEM}")  # as the partial index says it (tables.py)
        anything_open = sa.exists().where(p.c.order_id == orders.c.id, is_open)
        in_fallout = sa.exists().where(p.c.order_id == orders.c.id, p.c.revision == orders.c.revision,
                                       p.c.state == ItemState.FALLOUT.value, is_open)
        started = sa.case((orders.c.state == OrderState.ACKNOWLEDGED.value, sa.exists().where(
            p.c.order_id == orders.c.id, p.c.revision == orders.c.revision,
            p.c.step_id != "plan-order", p.c.started_at.is_not(None))), else_=sa.true())
        q = sa.select(orders.c.id, anything_open, in_fallout, started)
        out: dict[str, dict[str, bool]] = {}
        for chunk in _chunks(sorted(orders_)):
            for order_id, open_, fallout, began in self.conn.execute(q.where(orders.c.id.in_(chunk))):
                out[order_id] = {"anything_open": bool(open_), "anything_in_fallout": bool(fallout),
                                 "started": bool(began)}
        return out

    # --- orchestration queries ------------------------------------------------------------

    def running_per_system(self) -> dict[str, int]:
        rows = self.conn.execute(sa.select(plan_items.c.system, sa.func.count()).where(
            plan_items.c.state == ItemState.RUNNING.value, plan_items.c.system.is_not(None))
            .group_by(plan_items.c.system)).all()
        return {r[0]: r[1] for r in rows}

    def of_system(self, system: str, states: Iterable[str]) -> list[dict[str, Any]]:
        """Items of a system in these states (candidates, not locked: engine/locks.py)."""
        q = (sa.select(plan_items).where(plan_items.c.system == system,
                                         plan_items.c.state.in_(list(states)))
             .order_by(plan_items.c.created_at, plan_items.c.position))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def hold_drift(self, offline: Iterable[str], limit: int = 500) -> list[dict[str, Any]]:
        """Items on the wrong side of their system's state: held by a system that is online,
        or ready (or retrying) for one that is offline (candidates, not locked)."""
        offline = sorted(offline)
        index_scans_only(self.conn)
        held = sa.select(plan_items).where(plan_items.c.state == ItemState.ON_HOLD.value)
        if offline:
            held = held.where(plan_items.c.system.not_in(offline))
        rows = [dict(r) for r in self.conn.execute(held.limit(limit)).mappings().all()]
        if offline:
            ready = sa.select(plan_items).where(
                plan_items.c.state.in_([ItemState.READY.value, ItemState.RETRYING.value]),
                plan_items.c.system.in_(offline))
            rows += [dict(r) for r in self.conn.execute(ready.limit(limit)).mappings().all()]
        return rows

    def count_by_state(self, system: str) -> dict[str, int]:
        rows = self.conn.execute(sa.select(plan_items.c.state, sa.func.count())
                                 .where(plan_items.c.system == system)
                                 .group_by(plan_items.c.state)).all()
        return {r[0]: r[1] for r in rows}

    def due_waits(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Waiting ``wait`` items whose next check is due (candidates, not locked)."""
        index_scans_only(self.conn)
        q = (sa.select(plan_items).where(
            plan_items.c.state == ItemState.WAITING.value, plan_items.c.type == "wait",
            plan_items.c.not_before <= now).order_by(plan_items.c.not_before).limit(limit))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def timed_out(self, now: datetime, limit: int = 200) -> list[dict[str, Any]]:
        """Waiting items whose callback, task or wait time-out has passed (candidates, not
        locked)."""
        index_scans_only(self.conn)
        q = (sa.select(plan_items).where(
            plan_items.c.state == ItemState.WAITING.value, plan_items.c.deadline_at <= now)
            .order_by(plan_items.c.deadline_at).limit(limit))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def in_fallout(self, system: str | None = None, error: str | None = None,
                   before: datetime | None = None, order_id: str | None = None) -> list[dict[str, Any]]:
        q = in_fallout_where(sa.select(plan_items), system, error, before, order_id)
        q = q.order_by(plan_items.c.finished_at, plan_items.c.id)
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def set_spec(self, item_id: str, spec: dict[str, Any]) -> None:
        self.conn.execute(plan_items.update().where(plan_items.c.id == item_id).values(spec=spec))

    def set_specs(self, specs: dict[str, Any]) -> None:
        """``set_spec`` of many items: one statement for all (executemany)."""
        if not specs:
            return
        q = plan_items.update().where(plan_items.c.id == sa.bindparam("b_id")).values(
            spec=sa.bindparam("b_spec"))
        for chunk in _chunks([{"b_id": i, "b_spec": spec} for i, spec in specs.items()]):
            self.conn.execute(q, chunk)

    def set_jeopardy(self, item_id: str, level: str) -> None:
        self.conn.execute(plan_items.update().where(plan_items.c.id == item_id).values(jeopardy=level))

    def milestone_done(self, order_id: str, revision: int, step_id: str) -> bool:
        return self.conn.execute(sa.select(sa.func.count()).select_from(plan_items).where(
            plan_items.c.order_id == order_id, plan_items.c.revision == revision,
            plan_items.c.step_id == step_id, plan_items.c.type == "milestone",
            plan_items.c.state == ItemState.COMPLETED.value)).scalar_one() > 0

    # --- revisions ---------------------------------------------------------------------------

    def lock_all(self, order_id: str, *, skip_locked: bool = False) -> list[dict[str, Any]]:
        """Every item of the order, every revision, locked (after the order itself); with
        ``skip_locked``, only those nobody else holds now."""
        q = (sa.select(plan_items).where(plan_items.c.order_id == order_id)
             .order_by(plan_items.c.revision, plan_items.c.position)
             .with_for_update(skip_locked=skip_locked))
        return [dict(r) for r in self.conn.execute(q).mappings().all()]

    def key_of(self, item_id: str) -> str:
        return self.conn.execute(sa.select(plan_items.c.key).where(plan_items.c.id == item_id)).scalar_one()

    def move_to_revision(self, ids: list[str], revision: int, now: datetime) -> None:
        for chunk in _chunks(ids):
            self.conn.execute(plan_items.update().where(plan_items.c.id.in_(chunk))
                              .values(revision=revision, updated_at=now))

    def replace_edges(self, item_ids: list[str], edges: list[dict[str, str]]) -> None:
        """New dependencies for these items (their old ones are dropped)."""
        for chunk in _chunks(item_ids):
            self.conn.execute(plan_item_edges.delete().where(plan_item_edges.c.item_id.in_(chunk)))
        for chunk in _chunks(edges):
            self.conn.execute(plan_item_edges.insert(), chunk)

    def set_pending_deps(self, item_id: str, count: int, depends_on: list[str]) -> None:
        self.conn.execute(plan_items.update().where(plan_items.c.id == item_id)
                          .values(pending_deps=count, depends_on=depends_on))


def _row_of(order_id: str, item: NewPlanItem, now: datetime) -> dict[str, Any]:
    """The plan_items row of a new item (the one place a plan row is built)."""
    p = item.planned
    return {
        "id": item.id, "order_id": order_id, "revision": item.revision, "key": p.key,
        "position": item.position, "line_id": p.line_id, "step_id": p.step_id, "name": p.name,
        "type": p.type, "system": p.system, "state": item.state, "ponr": p.ponr,
        "depends_on": p.depends_on, "pending_deps": item.pending_deps,
        "root_item_ids": p.root_item_ids, "attempts": 0, "expected_duration_s": p.expected_duration_s,
        "spec": p.spec, "not_before": item.not_before,
        "output": {"skipped": p.skip_reason} if p.skip_reason else None,
        "finished_at": now if p.skip_reason else None, "created_at": now, "updated_at": now}


def in_fallout_where(q: sa.Select, system: str | None, error: str | None,
                     before: datetime | None, order_id: str | None) -> sa.Select:
    """``q`` restricted to the items in fallout that the fallout queue's filters select."""
    q = q.where(plan_items.c.state == ItemState.FALLOUT.value)
    if system:
        q = q.where(plan_items.c.system == system)
    if error:
        q = q.where(plan_items.c.last_error.contains(error, autoescape=True))
    if before:
        q = q.where(plan_items.c.finished_at <= before)
    if order_id:
        q = q.where(plan_items.c.order_id == order_id)
    return q
