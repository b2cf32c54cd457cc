"""Configuration: command-line flags and ORDERTOWER_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _env_seconds(name: str) -> float | None:
    """A number of seconds, or None (for ever) when the variable is unset or empty."""
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    database_url: str = field(default_factory=lambda: os.environ.get(
        "ORDERTOWER_DATABASE_URL", "sqlite:///ordertower.db"))
    catalog_path: str | None = field(default_factory=lambda: os.environ.get("ORDERTOWER_CATALOG"))
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    simulators: bool = True
    simulators_url: str | None = field(default_factory=lambda: os.environ.get("ORDERTOWER_SIMULATORS_URL"))
    lease_seconds: float = 30.0
    poll_seconds: float = 0.5
    max_in_flight: int = 1000
    auth: bool = field(default_factory=lambda: not _env_bool("ORDERTOWER_NO_AUTH", False))
    bootstrap_key: str | None = field(default_factory=lambda: os.environ.get("ORDERTOWER_BOOTSTRAP_KEY"))
    public_url: str | None = field(default_factory=lambda: os.environ.get("ORDERTOWER_PUBLIC_URL"))
    jeopardy_seconds: float = 5.0
    # service levels: how often workers learn durations from history, and how many
    # completions a scenario item needs on a system before its duration is learned
    learn_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_LEARN_SECONDS", "60")))
    learn_after_completions: int = field(default_factory=lambda: int(os.environ.get(
        "ORDERTOWER_LEARN_AFTER_COMPLETIONS", "50")))
    # claims: waiting this long counts as one priority level higher (domain/priority.py)
    priority_aging_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_PRIORITY_AGING_SECONDS", "300")))
    # orders with more items are planned by a worker after the acknowledgement (plan-order)
    inline_planning_limit: int = field(default_factory=lambda: int(os.environ.get(
        "ORDERTOWER_INLINE_PLANNING_LIMIT", "500")))
    max_body_bytes: int = 2 * 1024 * 1024
    # orders (POST productOrder, PATCH, catalog explain) may be large: a 10,000-line order is
    # about 2 MB of JSON; the nesting-depth guard applies whatever the size
    max_order_body_bytes: int = field(default_factory=lambda: int(os.environ.get(
        "ORDERTOWER_MAX_ORDER_BODY_BYTES", str(16 * 1024 * 1024))))
    # at start: how long serve and worker wait for a database that does not answer yet
    # (None: for ever, 0: not at all); they retry with back-off and log each attempt
    database_wait_seconds: float | None = field(default_factory=lambda: _env_seconds(
        "ORDERTOWER_DATABASE_WAIT_SECONDS"))
    # SIGTERM: how long items already running may take to finish before they are released
    grace_seconds: float = 30.0
    # how often a process checks for a newly deployed catalog version (one cheap query)
    catalog_refresh_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_CATALOG_REFRESH_SECONDS", "2")))
    # catalog deploy --dry-run: how many of the newest stored orders it replays by default
    dry_run_orders: int = 1000
    # at start: upgrade the schema (under a lock), or only check that it is at head
    migrate: bool = True
    max_json_depth: int = 32
    # how long an Idempotency-Key and its response are kept (POST productOrder, PATCH, cancel)
    idempotency_ttl_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_IDEMPOTENCY_TTL", "86400")))

    # events out: server-sent events (GET /api/v1/events) and TMF hub listeners
    events_poll_seconds: float = 0.25  # how often streams and dispatchers look for new events
    sse_heartbeat_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_SSE_HEARTBEAT", "15")))
    dispatch_events: bool = True  # run a dispatcher beside the workers (when there are workers)
    hub_timeout_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_HUB_TIMEOUT", "10")))
    hub_retry_base_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_HUB_RETRY_BASE", "1")))
    hub_retry_max_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_HUB_RETRY_MAX", "300")))
    # a listener failing this long (seconds) or this many times in a row (0: no count) is
    # marked failing (and still retried: its backlog is kept)
    hub_failing_after_seconds: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_HUB_FAILING_AFTER", "86400")))
    hub_failing_after_attempts: int = field(default_factory=lambda: int(os.environ.get(
        "ORDERTOWER_HUB_FAILING_ATTEMPTS", "0")))

    # the console (entrypoints/console): the key that signs its session cookies (default: a
    # random one per process, so sessions end when the server restarts) and their lifetime
    console_secret: str | None = field(default_factory=lambda: os.environ.get("ORDERTOWER_CONSOLE_SECRET"))
    console_session_hours: float = field(default_factory=lambda: float(os.environ.get(
        "ORDERTOWER_CONSOLE_SESSION_HOURS", "8")))

    def effective_public_url(self) -> str:
        """Where fulfillment systems reach ordertower (asynchronous callbacks)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def simulators_url_for(self, public_url: str) -> str:
        """The simulators: as configured, else mounted under the public URL of serve."""
        if self.simulators_url:
            return self.simulators_url.rstrip("/")
        return f"{public_url.rstrip('/')}/simulators"
