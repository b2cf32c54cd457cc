"""The one lock order of every writer, in one place.

Every unit of work that changes an order's rows locks them in this order: the order row,
then its plan items, then tasks and callback tokens. Claims lock items (``SKIP LOCKED``) but
only ever *skip* an order that someone else holds. So on PostgreSQL an amendment (which locks
the order, then all its items) can never deadlock with a worker.
"""

from __future__ import annotations

from typing import Any

def lock(uow, order_id: str, item_id: str | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    order = uow.orders.get(order_id, for_update=True)
    item = uow.plan.get(item_id, for_update=True) if item_id else None
    return order, item
