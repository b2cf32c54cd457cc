"""TMF622 v4 ProductOrder request shapes (the subset ordertower reads; other fields are kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, field_validator

from ...domain import input_parsers
from ...domain.priority import is_priority


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        return input_parsers.timestamp(value)
    raise ValueError("expected an RFC 3339 date-time string, e.g. 2026-05-01T10:00:00Z")


# RFC 3339 text only (no epoch numbers), an instant in the years 1970..9999 once in UTC
Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class Ref(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr = Field(min_length=1, max_length=200)


class Characteristic(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr = Field(min_length=1, max_length=200)
    value: Any = None


class ProductRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr | None = Field(default=None, max_length=200)
    productCharacteristic: list[Characteristic] = Field(default_factory=list, max_length=200)


class ItemRelationship(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr
    relationshipType: StrictStr


class ProductOrderItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr = Field(min_length=1, max_length=200)
    action: StrictStr
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    changesAllowed: StrictBool | None = None  # false: never amended (docs/in-flight-changes.md)
    productOffering: Ref | None = None
    product: ProductRef | None = None
    productOrderItemRelationship: list[ItemRelationship] = Field(default_factory=list)


class RelatedParty(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: StrictStr = Field(min_length=1, max_length=200)
    role: StrictStr | None = None


class OrderRelationship(BaseModel):
    """An order this one depends on (TMF622 v5's productOrderRelationship), by id or externalId."""
    model_config = ConfigDict(extra="allow")
    id: StrictStr = Field(min_length=1, max_length=200)
    relationshipType: StrictStr | None = None


SEED_ORDER = {
    "externalId": "seed-0001", "relatedParty": [{"id": "cust-42", "role": "customer", "@referredType": "Individual"}],
    "productOrderItem": [
        {"id": "1", "action": "add", "productOffering": {"id": "phone"},
         "product": {"productCharacteristic": [{"name": "model", "value": "Fairphone 5"},
                                               {"name": "color", "value": "blue"}]}},
        {"id": "2", "action": "add", "productOffering": {"id": "mobile-plan"},
         "product": {"productCharacteristic": [{"name": "tier", "value": "unlimited"}]}}]}


class ProductOrderCreate(BaseModel):
    """A TMF622 productOrder as ordertower reads it; other TMF622 attributes are kept as sent."""
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [SEED_ORDER]})
    externalId: StrictStr | None = Field(default=None, max_length=200)
    productOrderItem: list[ProductOrderItem] = Field(min_length=1, max_length=20_000)
    relatedParty: list[RelatedParty] = Field(default_factory=list, max_length=100)
    requestedStartDate: Timestamp | None = None
    requestedCompletionDate: Timestamp | None = None
    productOrderRelationship: list[OrderRelationship] = Field(default_factory=list, max_length=100)
    # TMF622: "0" (highest) to "4" (lowest); orders claims (docs/orchestration.md, Priority)
    priority: Any = None

    @field_validator("priority")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if value is not None and not is_priority(value):
            raise ValueError('expected "0" (highest) to "4" (lowest)')
        return value


class ProductOrderUpdate(BaseModel):
    """An amendment (``PATCH productOrder/{id}``, merge-patch): the new productOrderItem list;
    description, note and the requested dates may change too (documentation: the route reads
    the body itself and refuses any other attribute, naming it)."""
    model_config = ConfigDict(extra="forbid")
    productOrderItem: list[ProductOrderItem] = Field(min_length=1, max_length=20_000)
    revision: int | None = Field(default=None, ge=1)
    description: str | None = None
    note: list[dict[str, Any]] | None = None
    requestedStartDate: Timestamp | None = None
    requestedCompletionDate: Timestamp | None = None
    type_: StrictStr | None = Field(default=None, alias="@type")
    baseType: StrictStr | None = Field(default=None, alias="@baseType")
    schemaLocation: StrictStr | None = Field(default=None, alias="@schemaLocation")


class CancelProductOrderCreate(BaseModel):
    """``POST cancelProductOrder``: the order to cancel, and why."""
    model_config = ConfigDict(extra="allow")
    productOrder: Ref
    cancellationReason: StrictStr | None = None


class HubCreate(BaseModel):
    """``POST .../hub``: a listener's http(s) callback and, optionally, which events it wants."""
    model_config = ConfigDict(extra="allow")
    callback: StrictStr = Field(min_length=1, max_length=2000)
    query: StrictStr | None = None
