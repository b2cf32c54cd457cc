"""Catalog versions in the operations API (/api/v1), docs/catalog.md ("Deploying a catalog"):

- ``GET /api/v1/catalog/versions``: every deployed version, newest first, who deployed it when.
- ``GET /api/v1/catalog/versions/{id}``: one version, with its files.
- ``POST /api/v1/catalog/versions`` (admin): ``{"files": {"name.yaml": "text", ...}}`` deploys
  a catalog; ``{"version": N}`` deploys version N's files again (a rollback). 201.
- ``POST /api/v1/catalog/versions/dry-run`` (admin): the same body, plus ``"orders": N``
  (default 1,000): what the catalog would change on the newest N stored orders; nothing stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...domain.errors import Issue
from ...services import deploy_catalog as use_cases
from .common import json_object
from .problems import Problem
from .representations import iso
from .roles import actor_of

router = APIRouter(prefix="/api/v1", tags=["catalog"])
MAX_DRY_RUN_ORDERS = 100_000


def show(row: dict[str, Any], current_id: int | None) -> dict[str, Any]:
    out = {"id": row["id"], "release": row["release"], "digest": row["digest"],
           "deployed_by": row["deployed_by"], "deployed_at": iso(row["deployed_at"]),
           "note": row.get("note"), "current": row["id"] == current_id}
    if "files" in row:
        out["files"] = row["files"]
    return out


def _bad(field: str, message: str) -> Problem:
    return Problem(400, "bad-request", "Bad request", f"'{field}' {message}.", [Issue(field, message)])


def _source(body: dict[str, Any]) -> tuple[dict[str, str] | None, int | None]:
    """The catalog a request names: its files, or the id of a stored version."""
    files, version = body.get("files"), body.get("version")
    if (files is None) == (version is None):
        raise Problem(400, "bad-request", "Bad request",
                      "Send the catalog's 'files' or the 'version' to deploy again (one of them).",
                      [Issue("files", "required unless 'version' is given")])
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _bad("version", "must be a version id (a positive integer)")
        return None, version
    if not isinstance(files, dict) or not files or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise _bad("files", "must map each catalog file name to its YAML text")
    return files, None


def _newest_id(request: Request) -> int | None:
    newest = request.app.state.container.catalogs.newest()
    return newest["id"] if newest else None


@router.get("/catalog/versions")
async def list_versions(request: Request) -> list[dict]:
    catalogs = request.app.state.container.catalogs
    rows = await asyncio.to_thread(use_cases.list_versions, catalogs)
    newest = rows[0]["id"] if rows else None
    return [show(r, newest) for r in rows]


@router.get("/catalog/versions/{version_id}")
async def get_version(version_id: int, request: Request) -> dict:
    catalogs = request.app.state.container.catalogs
    row = await asyncio.to_thread(catalogs.version, version_id)
    if row is None:
        raise Problem(404, "not-found", "Not found", f"No catalog version {version_id}.",
                      [Issue("version_id", "unknown catalog version")])
    return show(row, await asyncio.to_thread(_newest_id, request))


@router.post("/catalog/versions", status_code=201)
async def deploy(request: Request) -> JSONResponse:
    body = await json_object(request)
    files, version = _source(body)
    catalogs = request.app.state.container.catalogs
    if version is not None:
        row = await asyncio.to_thread(use_cases.redeploy, catalogs, version, actor_of(request))
    else:
        row = await asyncio.to_thread(use_cases.deploy, catalogs, files, actor_of(request))
    return JSONResponse(show({k: v for k, v in row.items() if k != "files"}, row["id"]),
                        status_code=201,
                        headers={"Location": f"/api/v1/catalog/versions/{row['id']}"})


@router.post("/catalog/versions/dry-run")
async def dry_run(request: Request) -> dict:
    body = await json_object(request)
    files, version = _source(body)
    c = request.app.state.container
    limit = body.get("orders", c.settings.dry_run_orders)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_DRY_RUN_ORDERS:
        raise _bad("orders", f"must be a number of orders from 1 to {MAX_DRY_RUN_ORDERS}")
    return await asyncio.to_thread(use_cases.dry_run, c.store, c.catalogs, files=files,
                                   version_id=version, limit=limit)
