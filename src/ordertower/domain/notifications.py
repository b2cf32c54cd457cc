"""Events out (pure): which of our events a TMF listener hears, under which TMF event type,
what a hub's query means, and when a listener that keeps failing is retried or marked failing.

The one place where internal event kinds (the ``events`` table, the transactional outbox)
map to TMF622 / TMF637 notification types. Everything else (SSE, history) shows the internal
kinds as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from .errors import DomainError, Issue

PRODUCT_ORDERING = "productOrderingManagement"  # TMF622
PRODUCT_INVENTORY = "productInventory"  # TMF637
APIS = (PRODUCT_ORDERING, PRODUCT_INVENTORY)

# every notification type the TMF specs define for each API (a hub may name any of them);
# those ordertower never raises simply never match
TMF_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    PRODUCT_ORDERING: (
        "ProductOrderCreateEvent", "ProductOrderStateChangeEvent",
        "ProductOrderAttributeValueChangeEvent", "ProductOrderDeleteEvent",
        "ProductOrderInformationRequiredEvent", "CancelProductOrderCreateEvent",
        "CancelProductOrderStateChangeEvent", "CancelProductOrderInformationRequiredEvent"),
    PRODUCT_INVENTORY: (
        "ProductCreateEvent", "ProductAttributeValueChangeEvent", "ProductStateChangeEvent",
        "ProductDeleteEvent", "ProductBatchEvent"),
}


@dataclass(frozen=True)
class TmfMapping:
    """How one internal event is told to TMF listeners."""

    api: str
    event_type: str
    resource: str  # the member of ``event``: productOrder, cancelProductOrder, product
    field_path: str | None = None  # for *AttributeValueChangeEvent


def _always(_: dict[str, Any]) -> bool:
    return True


# internal kind -> (mapping, when it applies). Internal kinds not named here (plan items,
# tasks, systems, operator actions...) are for the operations API and SSE only.
_MAPPINGS: dict[str, tuple[TmfMapping, Callable[[dict[str, Any]], bool]]] = {
    "ProductOrderCreateEvent": (
        TmfMapping(PRODUCT_ORDERING, "ProductOrderCreateEvent", "productOrder"), _always),
    "ProductOrderStateChangeEvent": (
        TmfMapping(PRODUCT_ORDERING, "ProductOrderStateChangeEvent", "productOrder"), _always),
    # an amendment that was applied changed the order's items
    "ProductOrderRevisionEvent": (
        TmfMapping(PRODUCT_ORDERING, "ProductOrderAttributeValueChangeEvent", "productOrder",
                   "productOrderItem"), lambda p: p.get("status") == "applied"),
    # the order's own jeopardy (not an item's) is shown on the productOrder
    "JeopardyChangeEvent": (
        TmfMapping(PRODUCT_ORDERING, "ProductOrderAttributeValueChangeEvent", "productOrder",
                   "jeopardy"), lambda p: "order" in p and "item" not in p),
    "CancelProductOrderCreateEvent": (
        TmfMapping(PRODUCT_ORDERING, "CancelProductOrderCreateEvent", "cancelProductOrder"), _always),
    "CancelProductOrderStateChangeEvent": (
        TmfMapping(PRODUCT_ORDERING, "CancelProductOrderStateChangeEvent", "cancelProductOrder"),
        _always),
    "ProductCreateEvent": (
        TmfMapping(PRODUCT_INVENTORY, "ProductCreateEvent", "product"), _always),
    "ProductStateChangeEvent": (
        TmfMapping(PRODUCT_INVENTORY, "ProductStateChangeEvent", "product"), _always),
    "ProductAttributeValueChangeEvent": (
        TmfMapping(PRODUCT_INVENTORY, "ProductAttributeValueChangeEvent", "product",
                   "productCharacteristic"), _always),
}


def tmf_mapping(kind: str, payload: dict[str, Any]) -> TmfMapping | None:
    """The TMF notification an internal event is, or None when it is not one."""
    entry = _MAPPINGS.get(kind)
    if entry is None or not entry[1](payload or {}):
        return None
    return entry[0]


def kinds_for(api: str, event_types: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The internal kinds that may become these TMF event types of ``api`` (all when None)."""
    return tuple(sorted(kind for kind, (m, _) in _MAPPINGS.items()
                        if m.api == api and (event_types is None or m.event_type in event_types)))


# --- hubs -------------------------------------------------------------------------------------

class InvalidSubscription(DomainError):
    def __init__(self, issues: list[Issue]):
        super().__init__(detail="The listener cannot be registered.", issues=issues,
                         title="Invalid hub registration", kind="bad-request")


@dataclass(frozen=True)
class HubFilter:
    """What a hub's ``query`` selects. None: no restriction on that field."""

    event_types: tuple[str, ...] | None = None
    order_ids: tuple[str, ...] | None = None
    product_ids: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"event_types": list(self.event_types) if self.event_types else None,
                "order_ids": list(self.order_ids) if self.order_ids else None,
                "product_ids": list(self.product_ids) if self.product_ids else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "HubFilter":
        data = data or {}
        return cls(*(tuple(data[k]) if data.get(k) else None
                     for k in ("event_types", "order_ids", "product_ids")))

    def selects(self, mapping: TmfMapping, order_id: str | None, payload: dict[str, Any]) -> bool:
        if self.event_types is not None and mapping.event_type not in self.event_types:
            return False
        if self.order_ids is not None and order_id not in self.order_ids:
            return False
        if self.product_ids is not None and (payload or {}).get("product") not in self.product_ids:
            return False
        return True


# query keys each API understands (TMF's simple form, ``key=value`` joined by ``&``); the
# ``event.``-prefixed spelling of a resource field is accepted as well
_QUERY_KEYS = {
    PRODUCT_ORDERING: {"eventType": "event_types", "productOrder.id": "order_ids"},
    PRODUCT_INVENTORY: {"eventType": "event_types", "product.id": "product_ids"},
}
MAX_QUERY_LENGTH = 2000


def parse_hub_query(api: str, query: Any) -> HubFilter:
    """``eventType=A,B&productOrder.id=X`` (TMF simple form) -> a filter. Refuses, naming
    ``query``, what it cannot read: unknown keys, unknown event types, a missing ``=``."""
    if query is None or (isinstance(query, str) and not query.strip()):
        return HubFilter()
    if not isinstance(query, str):
        raise InvalidSubscription([Issue("query", "expected a string such as "
                                                   "'eventType=ProductOrderStateChangeEvent'")])
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidSubscription([Issue("query", f"longer than {MAX_QUERY_LENGTH} characters")])
    keys = _QUERY_KEYS[api]
    found: dict[str, list[str]] = {}
    issues: list[Issue] = []
    for part in query.strip().lstrip("?").split("&"):
        if not part:
            continue
        name, eq, raw = part.partition("=")
        name = unquote(name).strip()
        if name.startswith("event.") and name[len("event."):] in keys:
            name = name[len("event."):]
        if not eq:
            issues.append(Issue("query", f"'{part}': expected name=value"))
            continue
        if name not in keys:
            issues.append(Issue("query", f"'{name}' is not supported; use "
                                         + " and ".join(sorted(keys))))
            continue
        values = [unquote(v).strip() for v in raw.split(",")]
        if not all(values):
            issues.append(Issue("query", f"'{name}' has an empty value"))
            continue
        found.setdefault(keys[name], []).extend(values)
    known = TMF_EVENT_TYPES[api]
    for event_type in found.get("event_types", []):
        if event_type not in known:
            issues.append(Issue("query", f"unknown eventType '{event_type}'; expected one of "
                                         + ", ".join(known)))
    if issues:
        raise InvalidSubscription(issues)
    return HubFilter(**{k: tuple(dict.fromkeys(v)) for k, v in found.items()})


MAX_CALLBACK_LENGTH = 2000


def check_callback(value: Any) -> str:
    """A listener's callback: an absolute http(s) URL with a host."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidSubscription([Issue("callback", "required: the listener's http(s) URL")])
    value = value.strip()
    problem = None
    if len(value) > MAX_CALLBACK_LENGTH:
        problem = f"longer than {MAX_CALLBACK_LENGTH} characters"
    elif any(c.isspace() or ord(c) < 32 for c in value):
        problem = "must not contain spaces or control characters"
    else:
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises on a port that is not a number in range
        except ValueError as exc:
            parts, problem = None, f"not a URL ({exc})"
        if parts is None:
            pass
        elif parts.scheme not in ("http", "https"):
            problem = f"scheme must be http or https, not '{parts.scheme or '(none)'}'"
        elif not parts.hostname:
            problem = "has no host"
        elif parts.fragment:
            problem = "must not have a fragment (#...)"
    if problem:
        raise InvalidSubscription([Issue("callback", problem)])
    return value


# --- retries -----------------------------------------------------------------------------------

def retry_delay(failures: int, base_seconds: float, cap_seconds: float,
                rng: random.Random | None = None) -> timedelta:
    """Exponential back-off before the next try of a listener after ``failures`` failures in a
    row: base, 2 x base, 4 x base ... capped, spread by +/- 20 % so listeners do not align."""
    n = max(failures, 1)
    delay = min(base_seconds * 2 ** min(n - 1, 32), cap_seconds)
    delay *= (rng or random).uniform(0.8, 1.2)
    return timedelta(seconds=max(min(delay, cap_seconds), 0.0))


def is_failing(failures: int, failing_since: datetime | None, now: datetime,
               after_attempts: int, after_seconds: float) -> bool:
    """A listener that has failed ``after_attempts`` times in a row (0: no such limit), or for
    ``after_seconds`` since its first failure in a row, is marked failing (and still retried)."""
    if failures <= 0:
        return False
    if after_attempts and failures >= after_attempts:
        return True
    return failing_since is not None and (now - failing_since).total_seconds() >= after_seconds


def notification(mapping: TmfMapping, event_id: str, event_time: str | None,
                 resource: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """The TMF notification body: ``eventId``, ``eventTime``, ``eventType``, ``event``."""
    body: dict[str, Any] = {"eventId": event_id, "eventTime": event_time,
                            "eventType": mapping.event_type,
                            "event": {mapping.resource: resource}}
    if mapping.field_path:
        body["fieldPath"] = mapping.field_path
    if description:
        body["description"] = description
    return body
