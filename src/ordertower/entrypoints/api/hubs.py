"""TMF hubs (TMF688 style): register a listener for TMF622 or TMF637 notifications.

``POST .../hub {"callback": URL, "query": "eventType=...&productOrder.id=..."}`` -> 201,
``GET .../hub`` and ``GET .../hub/{id}`` (with the delivery state: ``status``, ``lastError``,
``backlog``), ``DELETE .../hub/{id}`` -> 204. Deliveries: engine/dispatcher.py."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ...domain.notifications import PRODUCT_INVENTORY, PRODUCT_ORDERING
from ...services import hubs
from .common import actor
from .json_body import read_json
from .openapi_document import json_body
from .params import id_path
from .tmf622_models import HubCreate
from .representations import iso

BASES = {PRODUCT_ORDERING: "/tmf-api/productOrderingManagement/v4",
         PRODUCT_INVENTORY: "/tmf-api/productInventory/v4"}


def hub_resource(row: dict[str, Any]) -> dict[str, Any]:
    shown = {"id": row["id"], "href": f"{BASES[row['api']]}/hub/{row['id']}", "@type": "Hub",
             "callback": row["callback"], "query": row["query"],
             # ordertower: how deliveries to this listener go
             "status": row["status"], "backlog": row.get("backlog"),
             "delivered": row["delivered"], "lastDeliveredAt": iso(row["last_delivered_at"]),
             "failures": row["failures"], "failingSince": iso(row["failing_since"]),
             "lastError": row["last_error"], "lastAttemptAt": iso(row["last_attempt_at"]),
             "nextAttemptAt": iso(row["next_attempt_at"]), "createdAt": iso(row["created_at"])}
    return {k: v for k, v in shown.items() if v is not None}


HubId = id_path("The listener's id.")


def _router(api: str, tag: str) -> APIRouter:
    router = APIRouter(prefix=BASES[api], tags=[tag])

    @router.post("/hub", status_code=201, openapi_extra=json_body(HubCreate))
    async def register_listener(request: Request) -> JSONResponse:
        c = request.app.state.container
        body = await read_json(request, max_bytes=c.settings.max_body_bytes,
                               max_depth=c.settings.max_json_depth)
        row = await asyncio.to_thread(hubs.register, c.store, api, body, actor(request))
        shown = hub_resource(row)
        return JSONResponse(shown, status_code=201, headers={"Location": shown["href"]})

    @router.get("/hub")
    def list_listeners(request: Request) -> JSONResponse:
        rows = hubs.list_all(request.app.state.container.store, api)
        return JSONResponse([hub_resource(r) for r in rows])

    @router.get("/hub/{hub_id}")
    def get_listener(hub_id: HubId, request: Request) -> JSONResponse:
        return JSONResponse(hub_resource(hubs.get(request.app.state.container.store, api, hub_id)))

    @router.delete("/hub/{hub_id}", status_code=204)
    def unregister_listener(hub_id: HubId, request: Request) -> Response:
        hubs.unregister(request.app.state.container.store, api, hub_id)
        return Response(status_code=204)

    return router


tmf622_router = _router(PRODUCT_ORDERING, "TMF622")
tmf637_router = _router(PRODUCT_INVENTORY, "TMF637")
