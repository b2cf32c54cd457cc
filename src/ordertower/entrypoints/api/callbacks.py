"""Asynchronous callout replies: POST /api/v1/callbacks/{token} (no key: the token is it)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from ...services.callbacks import receive_callback
from .common import json_object
from .openapi_document import json_body
from .params import id_path

router = APIRouter(prefix="/api/v1", tags=["callbacks"])


@router.post("/callbacks/{token}", openapi_extra=json_body(schema={"type": "object"}))
async def callback(token: id_path("The single-use token of the callback URL."), request: Request) -> dict:
    c = request.app.state.container
    body = await json_object(request)
    return await asyncio.to_thread(lambda: receive_callback(c.store, c.catalog.catalog, token, body))
