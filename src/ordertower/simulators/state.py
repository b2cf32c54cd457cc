"""In-memory state of the fulfillment-system simulators.

Pure Python, no I/O: settings and their validation, the bounded log of received requests,
failure injection, idempotent replies and the success body a simulated system answers.
All state lives on one asyncio event loop, so plain (non-awaiting) methods are atomic.
"""

from __future__ import annotations

import hashlib
import math
import re
import random
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

DEFAULT_SYSTEMS: tuple[str, ...] = ("warehouse", "network", "billing", "field-service", "market")

MAX_RECORDED_REQUESTS = 10_000
MAX_CALLBACK_ERRORS = 1_000
MAX_IDEMPOTENT_REPLIES = 100_000
MAX_RAW_BODY_CHARS = 2_000
MAX_DELAY_MS = 600_000


# a callback URL's last segment is its single-use token: a credential
_CALLBACK_TOKEN = re.compile(r"(/callbacks/)[^/?#\s\"']+")
REDACTED = "[redacted]"
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key")


def redact_tokens(value: Any) -> Any:
    """``value`` (a recorded request, its body...) with every callback token replaced."""
    if isinstance(value, str):
        return _CALLBACK_TOKEN.sub(r"\1" + REDACTED, value)
    if isinstance(value, dict):
        return {k: redact_tokens(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tokens(v) for v in value]
    return value


def utc_now_iso() -> str:
    """The current time as ISO-8601 UTC with milliseconds, e.g. ``2024-05-01T10:00:00.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Settings:
    """The knobs of one simulated system."""

    latency_ms: int = 0
    fail_next: int = 0
    failure_rate: float = 0.0
    offline: bool = False
    async_reply: bool = False
    async_delay_ms: int = 50
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FieldError:
    """One refused setting: which field and why."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class SettingsError(Exception):
    """A settings update was refused; nothing was changed."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


MAX_COUNT = 10**9


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_delay(value: object) -> str | None:
    if not _is_int(value):
        return "must be an integer number of milliseconds"
    if not 0 <= value <= MAX_DELAY_MS:  # type: ignore[operator]
        return f"must be between 0 and {MAX_DELAY_MS}"
    return None


def _check_count(value: object) -> str | None:
    if not _is_int(value):
        return "must be an integer"
    if not 0 <= value <= MAX_COUNT:  # type: ignore[operator]
        return f"must be between 0 and {MAX_COUNT}"
    return None


def _check_rate(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number between 0 and 1"
    if not math.isfinite(value) or not 0 <= value <= 1:
        return "must be between 0 and 1"
    return None


def _check_bool(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _check_seed(value: object) -> str | None:
    if value is None or (_is_int(value) and abs(value) < 2**63):  # type: ignore[arg-type]
        return None
    return "must be an integer (below 2**63 in size) or null"


_VALIDATORS: dict[str, Callable[[object], str | None]] = {
    "latency_ms": _check_delay,
    "fail_next": _check_count,
    "failure_rate": _check_rate,
    "offline": _check_bool,
    "async_reply": _check_bool,
    "async_delay_ms": _check_delay,
    "seed": _check_seed,
}

SETTING_NAMES: tuple[str, ...] = tuple(_VALIDATORS)


def validate_settings_patch(patch: object) -> dict[str, Any]:
    """Check a partial settings update and return the normalised changes.

    Raises :class:`SettingsError` listing every bad field (unknown name, wrong type,
    out of range); the caller must then change nothing.
    """
    if not isinstance(patch, Mapping):
        raise SettingsError([FieldError("body", "must be a JSON object of settings")])
    errors: list[FieldError] = []
    changes: dict[str, Any] = {}
    for name, value in patch.items():
        validator = _VALIDATORS.get(name)
        if validator is None:
            errors.append(
                FieldError(str(name), f"unknown setting; known: {', '.join(SETTING_NAMES)}")
            )
            continue
        message = validator(value)
        if message is not None:
            errors.append(FieldError(name, message))
        else:
            changes[name] = float(value) if name == "failure_rate" else value
    if errors:
        raise SettingsError(errors)
    return changes


@dataclass(frozen=True)
class Reply:
    """A successful answer that can be replayed for the same idempotency key."""

    status: int
    body: dict[str, Any]


def msisdn_for(idempotency_key: str | None) -> str:
    """A plausible mobile number (UK range +44 75..), deterministic from the key."""
    seed = idempotency_key if idempotency_key is not None else uuid.uuid4().hex
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**8
    return f"+4475{number:08d}"


def success_body(
    system: str, method: str, path: str, idempotency_key: str | None, body: Any
) -> dict[str, Any]:
    """The body a simulated system answers when it did the work.

    A ``network`` activation (POST to a path containing ``activat``) also returns the
    ``msisdn`` it assigned: the number being ported in (``port_number`` or ``msisdn`` in the
    request) if given, else one derived from the idempotency key.
    """
    result: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": "done",
        "system": system,
        "request": body,
    }
    if system == "network" and method == "POST" and "activat" in path:
        requested = None
        if isinstance(body, dict):
            requested = body.get("port_number") or body.get("msisdn")
        result["msisdn"] = requested if isinstance(requested, str) else msisdn_for(idempotency_key)
    return result


@dataclass
class SystemState:
    """Everything one simulated system remembers: settings, requests, replies, errors."""

    name: str
    settings: Settings = field(default_factory=Settings)
    requests: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=MAX_RECORDED_REQUESTS)
    )
    callback_errors: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=MAX_CALLBACK_ERRORS)
    )
    _replies: OrderedDict[tuple[str, str], Reply] = field(default_factory=OrderedDict)
    _rng: random.Random = field(default_factory=random.Random)
    # requests received and not yet answered (or failed), and the most at once since the
    # last reset: what a concurrency limit of the caller's keeps below it
    in_flight: int = 0
    peak_in_flight: int = 0

    def update_settings(self, changes: Mapping[str, Any]) -> None:
        """Apply already validated changes; a new ``seed`` reseeds the failure dice."""
        for name, value in changes.items():
            setattr(self.settings, name, value)
        if "seed" in changes:
            self._rng = random.Random(changes["seed"])

    def reset(self) -> None:
        """Back to default settings, forgetting requests, replies and callback errors; the
        peak of requests in flight starts again from those in flight now."""
        self.settings = Settings()
        self.peak_in_flight = self.in_flight
        self.requests.clear()
        self.callback_errors.clear()
        self._replies.clear()
        self._rng = random.Random()

    def record(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, str],
        idempotency_key: str | None,
        body: Any,
        raw_body: str | None,
    ) -> dict[str, Any]:
        """Log a received request; the returned entry is completed once it is answered."""
        entry: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "method": method,
            "path": path,
            "query": query,
            "idempotency_key": idempotency_key,
            "body": body,
            "raw_body": raw_body,
            # credentials a caller sent are never kept, for anyone to read
            "headers": {k: (REDACTED if k.lower() in _SECRET_HEADERS else v)
                        for k, v in headers.items()},
            "received_at": utc_now_iso(),
            "answered_at": None,
            "status": None,
            "replayed": False,
            "failure": None,
            "response_id": None,
        }
        self.requests.append(entry)
        return entry

    def entered(self) -> None:
        """A request is inside the system (recorded, not yet answered)."""
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def left(self) -> None:
        """A request inside the system was answered, failed or abandoned."""
        self.in_flight -= 1

    def failure_reason(self) -> str | None:
        """Decide whether the request arriving now fails: ``offline``, ``fail_next``,
        ``failure_rate`` or ``None`` (it succeeds). Consumes one ``fail_next``."""
        if self.settings.offline:
            return "offline"
        if self.settings.fail_next > 0:
            self.settings.fail_next -= 1
            return "fail_next"
        rate = self.settings.failure_rate
        if rate > 0 and self._rng.random() < rate:
            return "failure_rate"
        return None

    def stored_reply(self, path: str, idempotency_key: str) -> Reply | None:
        """The reply already given for this key on this path, if any."""
        return self._replies.get((path, idempotency_key))

    def remember_reply(self, path: str, idempotency_key: str, reply: Reply) -> None:
        """Keep a successful reply for replay, forgetting the oldest beyond the bound."""
        self._replies[(path, idempotency_key)] = reply
        while len(self._replies) > MAX_IDEMPOTENT_REPLIES:
            self._replies.popitem(last=False)

    def record_callback_error(
        self, request_id: str, callback_url: str, attempts: int, error: str
    ) -> None:
        """Note a callback that could not be delivered after all its attempts."""
        self.callback_errors.append(
            {
                "request_id": request_id,
                "callback_url": callback_url,
                "attempts": attempts,
                "error": error,
                "at": utc_now_iso(),
            }
        )

    def snapshot(self, limit: int | None = None, *, show_tokens: bool = True) -> dict[str, Any]:
        """What ``GET /{system}`` shows: settings, the last ``limit`` requests, callback errors;
        callback tokens only when ``show_tokens``."""
        requests = list(self.requests)
        if limit is not None:
            requests = requests[-limit:] if limit else []
        shown = {
            "system": self.name,
            "settings": self.settings.as_dict(),
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "requests": requests,
            "callback_errors": list(self.callback_errors),
        }
        return shown if show_tokens else redact_tokens(shown)


class SimulatorRegistry:
    """The simulated systems by name."""

    def __init__(self, systems: Sequence[str]):
        names = list(dict.fromkeys(systems))
        if not names or any(not isinstance(n, str) or not n or "/" in n for n in names):
            raise ValueError(f"system names must be non-empty strings without '/': {systems!r}")
        self._systems = {name: SystemState(name) for name in names}

    def get(self, name: str) -> SystemState | None:
        return self._systems.get(name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._systems.values())

    def names(self) -> list[str]:
        return list(self._systems)
