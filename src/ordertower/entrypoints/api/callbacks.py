"""Asynchronous callout replies: POST /api/v1/callbacks/{token} (no key: the token is it)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from ...services.callbacks import receive_callback
from .common import json_object

router = APIRouter(prefix="/api/v1", tags=["callbacks"])


@router.post("/callbacks/{token}")
async def callback(token: str, request: Request) -> dict:
    c = request.app.state.container
    body = await json_object(request)
    return await asyncio.to_thread(receive_callback, c.store, c.catalog.catalog, token, body)
