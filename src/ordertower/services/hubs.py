"""Use cases of TMF hubs (TMF688 style): register, show and unregister a listener.

A listener registered now hears the events written from now on (its cursor starts at the
newest event), never the past."""

from __future__ import annotations

from typing import Any

from ..domain.ids import new_id
from ..domain.errors import Issue, NotFound
from ..domain.notifications import (HubFilter, InvalidSubscription, check_callback, kinds_for,
                                    parse_hub_query)
from ..engine.ports import Store


def register(store: Store, api: str, body: Any, actor: str | None = None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidSubscription([Issue("body", "expected a JSON object with callback and query")])
    callback = check_callback(body.get("callback"))
    query = body.get("query")
    parsed = parse_hub_query(api, query)
    with store.uow() as uow:
        repo = uow.subscriptions
        now = uow.clock.now()
        row = {"id": new_id(), "api": api, "callback": callback,
               "query": query.strip() if isinstance(query, str) and query.strip() else None,
               "filter": parsed.as_dict(), "last_event_id": repo.top_event_id(),
               "created_by": actor, "created_at": now, "updated_at": now}
        repo.add(row)
        uow.commit()
    return get(store, api, row["id"])


def get(store: Store, api: str, sub_id: str) -> dict[str, Any]:
    with store.read() as uow:
        repo = uow.subscriptions
        row = repo.get(sub_id, api)
        if row is None:
            raise NotFound("hub", sub_id)
        return row | {"backlog": repo.backlog(row, _kinds(row))}


def list_all(store: Store, api: str) -> list[dict[str, Any]]:
    with store.read() as uow:
        repo = uow.subscriptions
        return [row | {"backlog": repo.backlog(row, _kinds(row))} for row in repo.list(api)]


def unregister(store: Store, api: str, sub_id: str) -> None:
    """Deliveries stop at once: a dispatcher in the middle of one finds no listener to move
    the cursor of, and stops."""
    with store.uow() as uow:
        if not uow.subscriptions.delete(sub_id, api):
            raise NotFound("hub", sub_id)
        uow.commit()


def _kinds(row: dict[str, Any]) -> tuple[str, ...]:
    return kinds_for(row["api"], HubFilter.from_dict(row["filter"]).event_types)
