"""TMF622 v4 ProductOrder request shapes (the subset ordertower reads; other fields are kept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr


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
    quantity: int | None = Field(default=None, ge=1)
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


class ProductOrderCreate(BaseModel):
    model_config = ConfigDict(extra="allow")
    externalId: StrictStr | None = Field(default=None, max_length=200)
    productOrderItem: list[ProductOrderItem] = Field(min_length=1, max_length=20_000)
    relatedParty: list[RelatedParty] = Field(default_factory=list, max_length=100)
    requestedStartDate: datetime | None = None
    requestedCompletionDate: datetime | None = None
    productOrderRelationship: list[OrderRelationship] = Field(default_factory=list, max_length=100)
