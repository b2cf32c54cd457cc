"""Tables. The database is the single source of truth and the work queue."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ...domain.lifecycle import FINAL_ITEM_STATES
from .item_specs import ItemSpecJSON

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - defensive, SQLite returns datetimes
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    # SQLite keeps datetimes as text, as SQLAlchemy writes them ('YYYY-MM-DD HH:MM:SS.ffffff',
    # UTC: compared as text in SQL); the engine binds and reads several per plan item, so
    # the same text is made and read by the C methods of datetime rather than SQLAlchemy's
    # generic format string and regular expression

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_datetime


def _sqlite_text(value: datetime | None) -> str | None:
    global _last_bound
    if value is None:
        return None
    last = _last_bound  # a set of rows binds the same moment many times (its events' time)
    if last[0] is value:
        return last[1]
    if value.tzinfo is None:
        text = value.isoformat(" ", "microseconds")
    elif value.tzinfo is timezone.utc:
        text = value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"
    else:
        text = value.astimezone(timezone.utc).isoformat(" ", "microseconds")[:26]
    _last_bound = (value, text)
    return text


_last_bound: tuple[datetime | None, str | None] = (None, None)


def _sqlite_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    if len(value) == 26 and value[19] == "." or len(value) == 19:
        # as written above: naive, UTC (parsing an offset is faster than replace(tzinfo=...))
        return datetime.fromisoformat(value + "+00:00")
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


orders = sa.Table(
    "orders", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("external_id", sa.String(200), index=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("customer_id", sa.String(200)),
    sa.Column("catalog_version", sa.String(100), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False, default=1),
    sa.Column("order_date", sa.String(40), nullable=False, index=True),
    sa.Column("requested_start_date", UTCDateTime),
    sa.Column("requested_completion_date", UTCDateTime),
    sa.Column("completion_date", UTCDateTime),
    sa.Column("state_reason", sa.Text),
    sa.Column("body", JSON, nullable=False),
    sa.Column("items", JSON, nullable=False),
    sa.Column("related_orders", JSON),  # ids from productOrderRelationship
    sa.Column("jeopardy", sa.String(8)),
    sa.Column("projected_completion", UTCDateTime),
    # TMF622 expectedCompletionDate: when the catalog's service levels say the order is done,
    # fixed at placement (0014); jeopardy counts against it when no date was requested
    sa.Column("expected_completion_date", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # lists are newest first, whatever they filter by (0011): each filter's index ends with
    # the list's order, so a page reads 50 index entries, not every matching order
    sa.Index("ix_orders_created_at_id", "created_at", "id"),
    sa.Index("ix_orders_state_created_at_id", "state", "created_at", "id"),
    sa.Index("ix_orders_customer_id_created_at_id", "customer_id", "created_at", "id"),
    sa.Index("ix_orders_jeopardy_created_at_id", "jeopardy", "created_at", "id"),
)

fulfillment_lines = sa.Table(
    "fulfillment_lines", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("line_id", sa.String(500), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("technical_product", sa.String(100), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("lineage", JSON, nullable=False),
    sa.Column("rule_ids", JSON, nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("parent_line_id", sa.String(500)),
    sa.Column("root_item_ids", JSON, nullable=False),
    # the installed base (migration 0003): where the inventory keeps the line, what it held
    # before this order, and why the line has its action
    sa.Column("inventory_key", sa.String(700)),
    sa.Column("previous", JSON),
    sa.Column("reason", sa.Text),
    sa.UniqueConstraint("order_id", "revision", "line_id"),
)

# the states a worker may claim, written as the claim query and its partial index both say it
# (literal, so that SQLite and PostgreSQL see that the index covers the query)
CLAIMABLE = "state IN ('ready', 'retrying')"
# an item not yet in a final state (domain/lifecycle.FINAL_ITEM_STATES), likewise literal: the
# open items' partial index holds only these, so what an order still has open is read without
# its finished items (a 10,000-line order has 34,000 items, most of them finished at the end)
OPEN_ITEM = "state NOT IN (" + ", ".join(sorted(f"'{s.value}'" for s in FINAL_ITEM_STATES)) + ")"

plan_items = sa.Table(
    "plan_items", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # by order: the unique index (order, revision, key) below; the index of order_id alone was
    # dropped in 0018 (every change of an item was written into one more index)
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("key", sa.String(600), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("line_id", sa.String(500)),
    sa.Column("step_id", sa.String(100), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("system", sa.String(100)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("ponr", sa.Boolean, nullable=False, default=False),
    sa.Column("depends_on", JSON, nullable=False),
    sa.Column("pending_deps", sa.Integer, nullable=False),
    sa.Column("root_item_ids", JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", UTCDateTime),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("expected_duration_s", sa.Float),
    sa.Column("deadline_at", UTCDateTime),  # callback / wait / task time-out
    sa.Column("jeopardy", sa.String(8)),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("output", JSON),
    sa.Column("spec", ItemSpecJSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # the order's TMF622 priority (0 highest .. 4), and the claim order it gives: when the
    # item became due (epoch seconds) plus priority x the aging interval (docs/orchestration.md)
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="2"),
    sa.Column("claim_rank", sa.Float, nullable=False, server_default="0"),
    sa.UniqueConstraint("order_id", "revision", "key"),
    sa.Index("ix_plan_items_claim", "state", "not_before"),
    # the claim query walks the due items in claim order (partial: only what can be claimed)
    sa.Index("ix_plan_items_claim_rank", "claim_rank", "created_at", "position",
             postgresql_where=sa.text(CLAIMABLE), sqlite_where=sa.text(CLAIMABLE)),
    # an order's open items, by revision and state (0018): whether anything is left open or in
    # fallout, and the jeopardy sweep's open items, in index entries of open items only.
    # PostgreSQL: without deduplication, so that the entry an item's change left dead is
    # marked dead by the first scan that meets it (a deduplicated posting list of an order's
    # pending items is marked only once every item in it is dead: each settle walked them all)
    sa.Index("ix_plan_items_open", "order_id", "revision", "state",
             postgresql_where=sa.text(OPEN_ITEM), sqlite_where=sa.text(OPEN_ITEM),
             postgresql_with={"deduplicate_items": "off"}),
)

plan_item_edges = sa.Table(
    "plan_item_edges", metadata,
    sa.Column("item_id", sa.String(64), sa.ForeignKey("plan_items.id"), primary_key=True),
    sa.Column("depends_on_id", sa.String(64), sa.ForeignKey("plan_items.id"), primary_key=True,
              index=True),
)

item_attempts = sa.Table(
    "item_attempts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(64), sa.ForeignKey("plan_items.id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(100)),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),  # (0011)
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("request", JSON),
    sa.Column("status_code", sa.Integer),
    sa.Column("response_excerpt", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),  # ok | retryable | fatal
    sa.Column("error", sa.Text),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False, index=True),  # (index: 0007)
    sa.Column("order_id", sa.String(64), index=True),
    sa.Column("item_id", sa.String(64)),
    sa.Column("payload", JSON, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False, index=True),  # (index: 0007)
    sa.Column("published_at", UTCDateTime),
    # who caused it (0007): an API key's name, "engine", "callback:<system>"; the audit log
    sa.Column("actor", sa.String(200), index=True),
)

assets = sa.Table(
    "assets", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), index=True),
    sa.Column("offering_id", sa.String(100), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("order_item_id", sa.String(200), nullable=False),
    sa.Column("lines", JSON, nullable=False),
    sa.Column("billing_account_id", sa.String(200)),
    sa.Column("root_asset_id", sa.String(64)),  # a bundle member's root asset (0003)
    sa.Column("terminated_at", UTCDateTime),  # (0003)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # one instance of an order item of quantity N: its number, and its group (the asset id
    # of the group's first instance) (0008)
    sa.Column("instance", sa.Integer),
    sa.Column("instance_of", sa.String(64)),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

# --- orchestration (migration 0002) -------------------------------------------------------

callback_tokens = sa.Table(
    "callback_tokens", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(64), sa.ForeignKey("plan_items.id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime),
    sa.Column("used_at", UTCDateTime),
    sa.Column("interim_count", sa.Integer, nullable=False, default=0),
    sa.Column("early_result", JSON),  # a final callback that beat the 202 being recorded
)

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("item_id", sa.String(64), sa.ForeignKey("plan_items.id"), nullable=False, index=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("queue", sa.String(100), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),  # open claimed completed cancelled
    sa.Column("assignee", sa.String(200)),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("data", JSON, nullable=False),
    sa.Column("output", JSON),
    sa.Column("routed_by", sa.String(100)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("completed_by", sa.String(200)),
    # (0013) item: a manual plan item's; resolve-fallout: made when a cancellation discards
    # items in fallout (completing it ends only the task). Due: from the scenario item's
    # expected duration, or set by an operator. Notes: [{at, by, text}], oldest first.
    sa.Column("kind", sa.String(24), nullable=False, server_default="item"),
    sa.Column("due_at", UTCDateTime),
    sa.Column("notes", JSON),
)

# --- people and fallout work (migration 0013) -------------------------------------------------

# who belongs to which work queue: seeded from the catalog at start, then data (API, CLI); a
# member removed keeps its row (removed_at) so that the next start does not seed it again
queue_members = sa.Table(
    "queue_members", metadata,
    sa.Column("queue", sa.String(100), primary_key=True),
    sa.Column("member", sa.String(200), primary_key=True, index=True),
    sa.Column("source", sa.String(16), nullable=False),  # catalog | api
    sa.Column("added_by", sa.String(200)),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Column("removed_at", UTCDateTime),
)

# the user or queue an item in fallout is assigned to (by hand, or by the rule named)
fallout_assignments = sa.Table(
    "fallout_assignments", metadata,
    sa.Column("item_id", sa.String(64), sa.ForeignKey("plan_items.id"), primary_key=True),
    sa.Column("order_id", sa.String(64), nullable=False),
    sa.Column("user_name", sa.String(200), index=True),
    sa.Column("queue", sa.String(100), index=True),
    sa.Column("rule_id", sa.String(64)),
    sa.Column("assigned_by", sa.String(200), nullable=False),
    sa.Column("assigned_at", UTCDateTime, nullable=False),
)

# assignment rules of fallout, in ``position`` order: the first whose filters all match an
# item going to fallout (system, error regular expression, technical product) assigns it
fallout_rules = sa.Table(
    "fallout_rules", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("system", sa.String(100)),
    sa.Column("error", sa.String(500)),
    sa.Column("product", sa.String(100)),
    sa.Column("user_name", sa.String(200)),
    sa.Column("queue", sa.String(100)),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

queue_cursors = sa.Table(
    "queue_cursors", metadata,
    sa.Column("queue", sa.String(100), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

operator_actions = sa.Table(
    "operator_actions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("dedupe_key", sa.String(300), nullable=False, unique=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("item_id", sa.String(64), index=True),
    sa.Column("order_id", sa.String(64), index=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("details", JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

system_states = sa.Table(
    "system_states", metadata,
    sa.Column("system", sa.String(100), primary_key=True),
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("changed_by", sa.String(200)),
    sa.Column("changed_at", UTCDateTime, nullable=False),
    # the circuit breaker (migration 0015; domain/breaker.py): closed | open | half-open
    sa.Column("breaker_state", sa.String(16), nullable=False, server_default="closed"),
    sa.Column("breaker_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("breaker_opened_at", UTCDateTime),
    sa.Column("breaker_probe_until", UTCDateTime),
    sa.Column("breaker_trial_item", sa.String(64)),
    sa.Column("breaker_changed_at", UTCDateTime),
)

# --- the installed base (migration 0003) ----------------------------------------------------

inventory_items = sa.Table(
    "inventory_items", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("customer_id", sa.String(200), index=True),
    sa.Column("key", sa.String(700), nullable=False, unique=True),  # the inventory key
    sa.Column("technical_product", sa.String(100), nullable=False),
    sa.Column("attributes", JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),  # active | terminated
    sa.Column("assets", JSON, nullable=False),  # ids of the assets that use it
    sa.Column("lines", JSON, nullable=False),  # [{order, line, action}] that made or changed it
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# --- in-flight changes (migration 0004) ----------------------------------------------------

order_revisions = sa.Table(
    "order_revisions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # queued applied superseded refused
    sa.Column("body", JSON, nullable=False),  # the supplemental order as received
    sa.Column("items", JSON, nullable=False),  # validated order items
    sa.Column("delta", JSON),
    sa.Column("plan_actions", JSON),
    sa.Column("reason", sa.Text),
    sa.Column("actor", sa.String(200)),
    sa.Column("force_reason", sa.Text),  # set: forced past the point of no return, and why
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("decided_at", UTCDateTime),
)

cancel_requests = sa.Table(
    "cancel_requests", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("order_id", sa.String(64), sa.ForeignKey("orders.id"), nullable=False, index=True),
    sa.Column("state", sa.String(24), nullable=False),  # acknowledged inProgress done terminatedWithError
    sa.Column("reason", sa.Text),
    sa.Column("error_message", sa.Text),
    sa.Column("body", JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("effective_at", UTCDateTime),
)

# Idempotency-Key records of POST productOrder, PATCH productOrder/{id} and POST
# cancelProductOrder (IETF httpapi idempotency-key draft): the first response is kept for
# ``expires_at`` and answered again to a retry with the same key and body.
idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("scope", sa.String(200), primary_key=True),  # operation (and target), e.g. "POST productOrder"
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the request body
    sa.Column("status_code", sa.Integer),  # null while the first request is being handled
    sa.Column("response_headers", JSON),
    sa.Column("response_body", sa.LargeBinary),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Facts a process records for the others, e.g. ``public_url``: where serve is reached (the
# simulators and the callback base URL that workers on other machines hand to systems).
server_settings = sa.Table(
    "server_settings", metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Every catalog deployed (migration 0016): its files ({name: text}), their digest, the version
# string orders record (``release``, e.g. ``2026.11.1+245195d32af5``), who deployed it and when.
# The row with the highest id is the catalog new orders use; a rollback is a new row with the
# files of an earlier one (adapters/store/catalog_versions.py).
catalog_versions = sa.Table(
    "catalog_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("release", sa.String(100), nullable=False, index=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("files", JSON, nullable=False),
    sa.Column("deployed_by", sa.String(200), nullable=False),
    sa.Column("deployed_at", UTCDateTime, nullable=False),
    sa.Column("note", sa.Text),
)

# --- events out (migration 0006) ---------------------------------------------------------------

# A TMF hub registration (listener) and its delivery state: one cursor per listener (the last
# event id it was given or that does not concern it), retried with back-off, claimed with a
# lease by one dispatcher at a time (so its events go out in order).
event_subscriptions = sa.Table(
    "event_subscriptions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("api", sa.String(40), nullable=False),  # productOrderingManagement | productInventory
    sa.Column("callback", sa.Text, nullable=False),
    sa.Column("query", sa.Text),  # as registered
    sa.Column("filter", JSON, nullable=False),  # the query, parsed
    sa.Column("status", sa.String(16), nullable=False),  # active | failing
    sa.Column("last_event_id", sa.Integer, nullable=False),  # the cursor
    sa.Column("failures", sa.Integer, nullable=False),  # failed tries in a row
    sa.Column("failing_since", UTCDateTime),  # the first of those
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("last_attempt_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered", sa.Integer, nullable=False),
    sa.Column("last_delivered_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("created_by", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# --- service levels (migration 0014) ------------------------------------------------------------

# What the history says a scenario item takes on a system: the 80th percentile of the durations
# (started_at to finished_at) of its newest completions, once it has enough of them. Written by
# the workers' learning sweep (engine/service_levels.py); read when an order is planned. An
# item of no system (auto, manual, milestone, wait) has system ''.
learned_durations = sa.Table(
    "learned_durations", metadata,
    sa.Column("technical_product", sa.String(100), primary_key=True),
    sa.Column("action", sa.String(16), primary_key=True),
    sa.Column("step_id", sa.String(100), primary_key=True),
    sa.Column("system", sa.String(100), primary_key=True),
    sa.Column("completions", sa.Integer, nullable=False),
    sa.Column("p80_s", sa.Float, nullable=False),
    sa.Column("learned_at", UTCDateTime, nullable=False),
)
