"""The catalog model: commercial and technical products, decomposition rules,
orchestration scenarios and fulfillment systems, as typed (Pydantic) models.

Files are read by ``ordertower.adapters.catalog_files``; cross-references are checked by
``ordertower.domain.catalog_checks``. docs/catalog.md is the reference of the format.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, ValidationError,
                      field_validator, model_validator)

from .conditions import Condition, ConditionSyntaxError, parse_condition
from .expressions import Expression, parse_expression
from .durations import parse_duration

ID_PATTERN = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
AttributeType = Literal["string", "integer", "decimal", "enum", "date", "boolean"]
Action = Literal["add", "modify", "delete", "noChange"]
ACTIONS: tuple[str, ...] = ("add", "modify", "delete", "noChange")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_ISO_DURATION = TypeAdapter(timedelta)


def _parsed(text: str | None, parse: Any, what: str) -> str | None:
    """Check at load time that a condition or expression parses; name the column if not."""
    if text is not None:
        try:
            parse(text)
        except ConditionSyntaxError as exc:
            raise ValueError(f"{what} {text!r}: {exc.message} at column {exc.column}") from None
    return text


def _condition(v: str | None) -> str | None:
    return _parsed(v, parse_condition, "condition")


def _duration(value: Any) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    try:
        return parse_duration(value)
    except ValueError:
        # model_dump(mode="json") writes timedeltas as ISO 8601 ('PT5S'): read them back too
        if isinstance(value, str) and value.strip().upper().startswith("P"):
            try:
                return _ISO_DURATION.validate_python(value.strip())
            except ValidationError:
                pass
        raise


# --- attributes -----------------------------------------------------------------------

class Attribute(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: AttributeType = "string"
    required: bool = False
    default: Any = None
    values: tuple[str, ...] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> "Attribute":
        if self.type == "enum" and not self.values:
            raise ValueError("an enum attribute needs 'values'")
        if self.type != "enum" and self.values is not None:
            raise ValueError("'values' is only for enum attributes")
        if self.default is not None:
            try:
                coerce_value(self, self.default)
            except ValueError as exc:
                raise ValueError(f"default {self.default!r}: {exc}") from None
        return self


def coerce_value(attr: Attribute, raw: Any) -> Any:
    """Bring a raw value (JSON or YAML) to the canonical JSON-able form of its type.

    integer -> int, decimal -> float, date -> 'YYYY-MM-DD', boolean -> bool,
    enum -> one of ``values``, string -> str. Raises ValueError naming what is wrong.
    """
    t = attr.type
    if raw is None:
        raise ValueError("a value is required")
    if t == "string":
        if isinstance(raw, (dict, list, bool)):
            raise ValueError(f"expected a string, got {type(raw).__name__}")
        return str(raw)
    if t == "enum":
        value = str(raw) if not isinstance(raw, (dict, list, bool)) else None
        if value is None or value not in (attr.values or ()):
            raise ValueError(f"expected one of {', '.join(attr.values or ())}; got {raw!r}")
        return value
    if t == "integer":
        if isinstance(raw, bool):
            raise ValueError("expected an integer, got a boolean")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d+\s*", raw):
            return int(raw)
        raise ValueError(f"expected an integer, got {raw!r}")
    if t == "decimal":
        if isinstance(raw, bool):
            raise ValueError("expected a number, got a boolean")
        if isinstance(raw, (int, float)):
            if not math.isfinite(raw):
                raise ValueError(f"expected a finite number, got {raw!r}")
            return float(raw)
        if isinstance(raw, str):
            try:
                d = Decimal(raw.strip())
            except InvalidOperation:
                raise ValueError(f"expected a number, got {raw!r}") from None
            if d.is_finite():
                return float(d)
        raise ValueError(f"expected a number, got {raw!r}")
    if t == "date":
        if isinstance(raw, date):
            return raw.isoformat()[:10]
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw.strip()).isoformat()
            except ValueError:
                pass
        raise ValueError(f"expected a date (YYYY-MM-DD), got {raw!r}")
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise ValueError(f"expected true or false, got {raw!r}")
    raise ValueError(f"unknown type {t}")  # pragma: no cover - Literal forbids it


def typed_value(attr: Attribute | None, value: Any) -> Any:
    """The value as conditions compare it (dates as dates); canonical values otherwise."""
    if attr is not None and attr.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


# --- products ---------------------------------------------------------------------

class _Attributed(Strict):
    """A product with typed attributes, looked up by name."""

    attributes: tuple[Attribute, ...] = ()

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name)

    @cached_property
    def _by_name(self) -> dict[str, Attribute]:
        by_name: dict[str, Attribute] = {}
        for attribute in self.attributes:
            by_name.setdefault(attribute.name, attribute)  # the first of a duplicate
        return by_name


QuantityMode = Literal["instances", "attribute"]


class CommercialProduct(_Attributed):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    world: str | None = None
    billable: bool = False
    description: str | None = None
    # How an order item's TMF622 ``quantity`` is fulfilled: ``instances`` (N numbered
    # instances, each its own lines, plan items and asset) or ``attribute`` (one item whose
    # integer attribute ``quantity`` carries N, e.g. seats of one licence).
    quantity: QuantityMode = "instances"
    # the service level: an order item of this product is expected done this long after
    # the order is placed (its expectedCompletionDate, when the customer asked for none)
    lead_time: timedelta | None = None

    _d = field_validator("lead_time", mode="before")(lambda cls, v: _duration(v))


class TechnicalProduct(_Attributed):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    description: str | None = None
    # Lines of this product are billing accounts; this attribute holds the account's id
    # (e.g. returned by the billing system). Assets they serve show it as billingAccount.
    billing_account_id: str | None = None
    # the service level: a line of this product is expected done this long after placement
    lead_time: timedelta | None = None

    _d = field_validator("lead_time", mode="before")(lambda cls, v: _duration(v))


# --- decomposition rules ------------------------------------------------------------------

MergePolicy = Literal["error", "first", "last", "max", "min", "list"]
MERGE_POLICIES: tuple[str, ...] = ("error", "first", "last", "max", "min", "list")


class Mapping(Strict):
    """How one target attribute gets its value: exactly one of copy, constant, from + values
    (a value list) or expression. ``copy`` and ``from`` read an attribute of the source, or of
    a related item of the bundle when written ``product.attribute``.

    ``merge`` says what a line shared by several sources (root, order or account scope)
    takes when they map different values: ``error`` (the default: the order is refused),
    ``first``, ``last``, ``max``, ``min`` or ``list`` (every distinct value, in order)."""

    copy_: str | None = Field(default=None, alias="copy")
    constant: Any = None
    from_: str | None = Field(default=None, alias="from")
    values: dict[str, Any] | None = None
    default: Any = None
    expression: str | None = None
    merge: MergePolicy = "error"

    _e = field_validator("expression")(lambda cls, v: _parsed(v, parse_expression, "expression"))

    @model_validator(mode="after")
    def _one_kind(self) -> "Mapping":
        kinds = [k for k, present in (("copy", self.copy_ is not None),
                                      ("constant", self.constant is not None),
                                      ("value list", self.from_ is not None or self.values is not None),
                                      ("expression", self.expression is not None))
                 if present]
        if len(kinds) != 1:
            raise ValueError("a mapping needs exactly one of: copy, constant, from + values, expression")
        if (self.from_ is None) != (self.values is None):
            raise ValueError("a value-list mapping needs both 'from' and 'values'")
        if self.default is not None and self.values is None:
            raise ValueError("'default' belongs to a value-list mapping")
        return self

    @property
    def kind(self) -> str:
        if self.copy_ is not None:
            return "copy"
        if self.constant is not None:
            return "constant"
        if self.expression is not None:
            return "expression"
        return "value_list"

    @property
    def merge_declared(self) -> bool:
        """Whether the catalog says how to merge (``merge`` written, even as ``error``)."""
        return "merge" in self.model_fields_set

    @property
    def source_attribute(self) -> str | None:
        return self.copy_ if self.copy_ is not None else self.from_

    @cached_property
    def parsed_expression(self) -> Expression | None:
        return parse_expression(self.expression) if self.expression is not None else None

    @property
    def names(self) -> frozenset[str]:
        """Every attribute the mapping reads (``product.attribute`` for related items)."""
        if self.parsed_expression is not None:
            return self.parsed_expression.names
        return frozenset({self.source_attribute}) if self.source_attribute else frozenset()


Scope = Literal["item", "root", "order", "account"]
# How many sources share one target line: a child rule may not be broader than its parent.
SCOPE_BREADTH: dict[str, int] = {"item": 0, "root": 1, "order": 2, "account": 3}


class Rule(Strict):
    id: str = Field(pattern=ID_PATTERN)
    source: tuple[str, ...]
    target: str
    when: str | None = None
    actions: tuple[Action, ...] = ("add", "modify", "delete")
    scope: Scope = "item"
    mappings: dict[str, Mapping] = Field(default_factory=dict)
    description: str | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    _c = field_validator("when")(lambda cls, v: _condition(v))

    @cached_property
    def condition(self) -> Condition | None:
        return parse_condition(self.when) if self.when else None


# --- fulfillment systems and retry ---------------------------------------------------------

class RetryPolicy(Strict):
    strategy: Literal["none", "fixed", "staggered", "exponential"] = "exponential"
    max_attempts: int = Field(default=5, ge=1, le=1000)
    interval: timedelta | None = None
    intervals: tuple[timedelta, ...] | None = None
    initial: timedelta = timedelta(seconds=1)
    factor: float = Field(default=2.0, ge=1.0)
    cap: timedelta = timedelta(minutes=5)
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)

    _d = field_validator("interval", "initial", "cap", mode="before")(lambda cls, v: _duration(v))

    @field_validator("intervals", mode="before")
    @classmethod
    def _ds(cls, v: Any) -> Any:
        return None if v is None else tuple(_duration(x) for x in v)

    @model_validator(mode="after")
    def _check(self) -> "RetryPolicy":
        if self.strategy == "fixed" and self.interval is None:
            raise ValueError("a fixed retry policy needs 'interval'")
        if self.strategy == "staggered" and not self.intervals:
            raise ValueError("a staggered retry policy needs 'intervals'")
        return self


class BreakerPolicy(Strict):
    """A system's circuit breaker (domain/breaker.py): after ``failures`` consecutive transport
    failures the system opens (its items are held); after ``probe_after`` a probe may close it."""
    enabled: bool = True
    failures: int = Field(default=5, ge=1, le=1000,
                          description="consecutive transport failures that open the breaker")
    probe_after: timedelta = Field(default=timedelta(seconds=10),
                                   description="how long the breaker stays open before a probe")

    _d = field_validator("probe_after", mode="before")(lambda cls, v: _duration(v))

    @field_validator("probe_after")
    @classmethod
    def _positive(cls, v: timedelta) -> timedelta:
        if v <= timedelta(0):
            raise ValueError("probe_after must be longer than zero")
        return v


class System(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    base_url: str
    timeout: timedelta = timedelta(seconds=10)
    concurrency: int = Field(default=20, ge=1, le=10_000)
    retry: RetryPolicy = RetryPolicy()
    rate_limit: float | None = Field(default=None, gt=0, description="requests per second")
    breaker: BreakerPolicy = BreakerPolicy()
    # GET base_url + health_path is the breaker's probe (a 2xx closes it); without one, the
    # next held item is sent as the trial
    health_path: str | None = Field(default=None, pattern=r"^/",
                                    description="the breaker's probe: GET base_url + this path")

    _d = field_validator("timeout", mode="before")(lambda cls, v: _duration(v))


# --- orchestration scenarios ----------------------------------------------------------------

class Request(Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = Field(pattern=r"^/")
    body: Any = None


ItemType = Literal["callout", "auto", "milestone", "manual", "wait"]


class ScenarioItem(Strict):
    id: str = Field(pattern=ID_PATTERN)
    type: ItemType
    name: str | None = None
    system: str | None = None
    request: Request | None = None
    step: str | None = None  # auto: the registered step's name
    queue: str | None = None  # manual: the work queue
    # manual: what the person completing the task fills in (typed, some required)
    fields: tuple[Attribute, ...] = ()
    ponr: bool = False
    # a soft point of no return: once started, an amendment is accepted with a warning
    soft_ponr: bool = False
    after: tuple[str, ...] = ()
    compensation: Request | None = None
    # what an amendment or cancellation does with this item once it is done:
    # undo (run `compensation`), ignore (keep it), redo (run it again with the new data),
    # manual (a task in `compensation_queue`). Default: undo with a compensation, else redo.
    compensate: Literal["undo", "ignore", "redo", "manual"] | None = None
    compensation_queue: str | None = None
    retry: RetryPolicy | None = None
    expected_duration: timedelta | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    # plan time: an item whose condition is false is planned as `skipped`
    when: str | None = None
    # callout: `async` sends a single-use callback URL and waits for the final callback
    reply: Literal["sync", "async"] = "sync"
    # async callout: callback time-out; wait: wait time-out; manual: task time-out
    timeout: timedelta | None = None
    # wait: the condition over the line's attributes to wait for, re-checked every `check_every`
    until: str | None = None
    # wait: a milestone item id that every related order (productOrderRelationship) must reach
    after_order: str | None = None
    check_every: timedelta = timedelta(seconds=5)

    _d = field_validator("expected_duration", "timeout", "check_every", mode="before")(
        lambda cls, v: _duration(v))
    _c = field_validator("when", "until")(lambda cls, v: _condition(v))

    @cached_property
    def condition(self) -> Condition | None:
        return parse_condition(self.when) if self.when else None

    @property
    def compensation_strategy(self) -> str:
        if self.compensate is not None:
            return self.compensate
        return "undo" if self.compensation is not None else "redo"

    @cached_property
    def until_condition(self) -> Condition | None:
        return parse_condition(self.until) if self.until else None

    @model_validator(mode="after")
    def _by_type(self) -> "ScenarioItem":
        if self.type == "wait" and (self.until is None) == (self.after_order is None):
            raise ValueError("a wait item needs exactly one of 'until' and 'after_order'")
        if self.type != "wait" and (self.until is not None or self.after_order is not None):
            raise ValueError("'until' and 'after_order' are for wait items")
        if self.reply == "async" and self.type != "callout":
            raise ValueError("'reply: async' is for callouts")
        if self.compensate == "undo" and self.compensation is None:
            raise ValueError("'compensate: undo' needs a 'compensation' request")
        if (self.compensate == "manual") != (self.compensation_queue is not None):
            raise ValueError("'compensate: manual' goes with a 'compensation_queue'")
        if self.type == "callout" and (self.system is None or self.request is None):
            raise ValueError("a callout needs 'system' and 'request'")
        if self.type != "callout" and (self.request is not None or self.compensation is not None):
            raise ValueError("'request' and 'compensation' are for callouts")
        if self.type == "auto" and not self.step:
            raise ValueError("an auto item needs 'step' (the registered step's name)")
        if self.type == "manual" and not self.queue:
            raise ValueError("a manual item needs 'queue'")
        if self.type != "manual" and self.fields:
            raise ValueError("'fields' are for manual items")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("a task field is declared twice")
        return self


class Scenario(Strict):
    product: str
    action: Action = "add"
    items: tuple[ScenarioItem, ...] = Field(min_length=1)
    description: str | None = None


# --- work queues (manual items) ------------------------------------------------------------

class WorkQueue(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    members: tuple[str, ...] = ()
    strategy: Literal["round-robin", "least-loaded"] = "round-robin"


class AssignmentRule(Strict):
    """Routes a manual item to a queue when its condition holds (first match wins).

    The condition reads the line's attributes, ``action``, ``customer.id``, ``customer.type``
    (the customer party's @referredType, e.g. Organization), ``order.category`` and
    ``order.priority``.
    """

    id: str = Field(pattern=ID_PATTERN)
    when: str
    queue: str
    applies_to: tuple[str, ...] = ()  # queues whose items it may re-route; empty: all

    _c = field_validator("when")(lambda cls, v: _condition(v))

    @cached_property
    def condition(self) -> Condition:
        return parse_condition(self.when)


# --- the catalog ---------------------------------------------------------------------------

def _first_by(elements: tuple[Any, ...], key: Any) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for element in elements:
        out.setdefault(key(element), element)
    return out


class Catalog(Strict):
    version: str = "0"
    systems: tuple[System, ...] = ()
    products: tuple[CommercialProduct, ...] = ()
    technical_products: tuple[TechnicalProduct, ...] = ()
    rules: tuple[Rule, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    work_queues: tuple[WorkQueue, ...] = ()
    assignment_rules: tuple[AssignmentRule, ...] = ()
    # What the loader read: `version` plus the digest of the files (set by the loader).
    _release: str | None = PrivateAttr(default=None)

    @property
    def release(self) -> str:
        """The version an order records: the files' version and digest when loaded from
        files (``2026.11.1+245195d32af5``), else ``version``."""
        return self._release or self.version

    @cached_property
    def queue_by_id(self) -> dict[str, WorkQueue]:
        return _first_by(self.work_queues, lambda q: q.id)

    # The lookups keep the first element of a duplicated id (as the duplicate check reports
    # it: "first at ..."), so that a duplicate does not cause follow-on errors of its own.
    @cached_property
    def product_by_id(self) -> dict[str, CommercialProduct]:
        return _first_by(self.products, lambda p: p.id)

    @cached_property
    def technical_by_id(self) -> dict[str, TechnicalProduct]:
        return _first_by(self.technical_products, lambda p: p.id)

    @cached_property
    def system_by_id(self) -> dict[str, System]:
        return _first_by(self.systems, lambda s: s.id)

    @cached_property
    def rules_by_source(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for src in rule.source:
                out.setdefault(src, []).append(rule)
        return out

    @cached_property
    def scenario_by_key(self) -> dict[tuple[str, str], Scenario]:
        return _first_by(self.scenarios, lambda s: (s.product, s.action))

    @cached_property
    def _attributes(self) -> dict[str, dict[str, Attribute]]:
        """Attributes by product id and name (first of a duplicate wins, commercial first)."""
        out: dict[str, dict[str, Attribute]] = {}
        for product in (*self.products, *self.technical_products):
            attrs = out.setdefault(product.id, {})
            for attribute in product.attributes:
                attrs.setdefault(attribute.name, attribute)
        return out

    def attribute_of(self, product_id: str, name: str) -> Attribute | None:
        return self._attributes.get(product_id, {}).get(name)
