"""Logging, configured once per process (by the ``serve`` and ``worker`` commands).

- One format for every line, ordertower's and its libraries' (uvicorn, alembic): JSON lines
  when the output is not a terminal, a readable console rendering on a terminal; chosen with
  ``--log-format json|console`` or ``ORDERTOWER_LOG_FORMAT``.
- Tracebacks are plain text without local variables: a log line never copies a request body,
  a key or a whole order into the log, and one error is a few lines, not thousands.
- Secrets never reach a line: every line, ordertower's and its libraries', tracebacks
  included, passes ``redact_secrets`` last: bearer keys and ``Authorization`` values, API keys
  (``otk_...``), callback tokens (the last segment of ``/callbacks/...``), passwords in URLs,
  fields named like a secret, and every value given to ``register_secret`` (the bootstrap key).
- Context travels in ``structlog.contextvars``: the request id of an HTTP request, the
  ``order_id`` and ``item_id`` of a plan item being run. Threads started with
  ``asyncio.to_thread`` inherit it.
- Lines are rendered by the thread that logs and written by one background thread through
  a queue, so a slow or blocked stdout never blocks the event loop.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import re
import sys
from typing import IO

import structlog

FORMATS = ("json", "console")
_listener: logging.handlers.QueueListener | None = None
_configured = 0  # how many times logging was configured in this process


def times_configured() -> int:
    return _configured


def choose_format(requested: str | None, stream: IO[str]) -> str:
    """The flag, else ``ORDERTOWER_LOG_FORMAT``, else console on a terminal and JSON elsewhere."""
    fmt = (requested or os.environ.get("ORDERTOWER_LOG_FORMAT") or "").strip().lower()
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"log format '{fmt}' is not one of {', '.join(FORMATS)}")
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


REDACTED = "[redacted]"
# fields whose value is a secret whatever it looks like
SECRET_FIELDS = frozenset({"authorization", "api_key", "bearer", "token", "callback_token",
                           "password", "secret", "credentials", "bootstrap_key"})
_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?!bearer)[^\s'\",;]+"), r"\1" + REDACTED),
    (re.compile(r"(/callbacks/)[^/?#\s'\",]+"), r"\1" + REDACTED),
    (re.compile(r"otk_[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]+@"), r"\1" + REDACTED + "@"),
]
# what each pattern above needs somewhere in the text: most values of a line (ids, states,
# keys) contain none, and are let through after one search instead of one per pattern
_TRIGGER = re.compile(r"(?i)bearer|authorization|/callbacks/|otk_|://")
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """A value that must never appear in a log line (e.g. the bootstrap key)."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if _TRIGGER.search(text) is None:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value):
    """``value`` (text, or JSON-like data) with every secret replaced by ``[redacted]``."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: REDACTED if str(k).lower() in SECRET_FIELDS else redact_value(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def redact_secrets(_logger, _method, event_dict: dict) -> dict:
    """structlog processor: the line with every secret replaced by ``[redacted]``."""
    return redact_value(event_dict)


def _shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(fmt: str):
    """The traceback is rendered to plain text first (never with local variables), then the
    whole line is redacted, then rendered."""
    if fmt == "json":
        return [structlog.processors.format_exc_info, redact_secrets,
                structlog.processors.JSONRenderer()]
    return [structlog.processors.format_exc_info, redact_secrets,
            structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback,
                                          colors=False)]


class _RenderingQueueHandler(logging.handlers.QueueHandler):
    """Renders the line in the caller's thread (cheap), hands the text to the writer thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        line = self.format(record)
        out = logging.makeLogRecord({"msg": line, "levelno": record.levelno,
                                     "levelname": record.levelname, "name": record.name})
        return out


def configure_logging(fmt: str | None = None, level: str = "info",
                      stream: IO[str] | None = None) -> str:
    """Configure structlog and the standard library's logging for this process; returns the
    format chosen. Calling it again replaces the previous configuration."""
    global _listener, _configured
    stream = stream or sys.stdout
    fmt = choose_format(fmt, stream)
    _configured += 1
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level '{level}' is not a logging level")

    shared = _shared_processors()
    structlog.configure(
        # a line below the level is dropped first, before anything is rendered
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderer(fmt)])

    if _listener is not None:
        _listener.stop()
    lines: queue.SimpleQueue = queue.SimpleQueue()
    writer = logging.StreamHandler(stream)
    writer.setFormatter(logging.Formatter("%(message)s"))
    _listener = logging.handlers.QueueListener(lines, writer)
    _listener.start()
    handler = _RenderingQueueHandler(lines)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    # uvicorn's own loggers: through the root handler, one format; its access log is replaced
    # by ordertower's request line (which carries the request id)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(max(numeric, logging.INFO))
    return fmt


def flush_logging() -> None:
    """Write every queued line (at exit, and before a process ends on purpose)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


atexit.register(flush_logging)
