"""The JSON form of a plan item's ItemSpec (column ``plan_items.spec``), in one place.

Keys absent from the JSON take their defaults, so specs written by earlier versions read as
before; ``None`` values are not written."""

from __future__ import annotations

import json
from dataclasses import fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from ...domain.catalog import Attribute, Request, RetryPolicy
from ...domain.item_spec import EditedRequest, ItemSpec

_FIELDS = {f.name for f in fields(ItemSpec)}
_MODELS = {"request": Request, "compensation": Request, "retry": RetryPolicy}


def spec_to_json(spec: ItemSpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(spec, name)
        if value is None:
            continue
        if name in _MODELS:
            value = value.model_dump(mode="json")
        elif name == "request_override":
            value = {"body": value.body}
        elif name in ("outputs", "installed_base"):
            value = dict(value)
        elif name == "fields":
            value = [f.model_dump(mode="json", exclude_none=True) for f in value]
        elif name == "recorded":
            value = [dict(r) for r in value]
        out[name] = value
    return out


def spec_from_json(data: dict[str, Any] | None) -> ItemSpec:
    values: dict[str, Any] = {}
    for name, value in (data or {}).items():
        if name not in _FIELDS or value is None:
            continue  # a key an earlier version wrote and no one reads any more
        if name in _MODELS:
            value = _MODELS[name].model_validate(value)
        elif name == "request_override":
            value = EditedRequest(value.get("body"))
        elif name in ("outputs", "installed_base"):
            value = MappingProxyType(dict(value))
        elif name == "fields":
            value = tuple(Attribute.model_validate(f) for f in value)
        elif name == "recorded":
            value = tuple(value)
        values[name] = value
    return ItemSpec(**values)


class ItemSpecJSON(sa.types.TypeDecorator):
    """The ``spec`` column: an ItemSpec in Python, JSON (JSONB on PostgreSQL) in the database."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(sa.JSON())

    def process_bind_param(self, value, dialect):
        if value is None or isinstance(value, dict):
            return value
        return spec_to_json(value)

    def process_result_value(self, value, dialect):
        return None if value is None else spec_from_json(value)

    def result_processor(self, dialect, coltype):
        """On SQLite the column comes as JSON text: the specs of the same text (the items of
        one catalog step, read over and over by the engine) are parsed once (ItemSpec is
        immutable). Elsewhere, as any TypeDecorator."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _spec_of_text


@lru_cache(maxsize=4096)
def _parsed(text: str) -> ItemSpec | None:
    data = json.loads(text)
    return None if data is None else spec_from_json(data)


def _spec_of_text(value: str | bytes | None) -> ItemSpec | None:
    if value is None:
        return None
    return _parsed(value if isinstance(value, str) else value.decode())
