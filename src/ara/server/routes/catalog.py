"""The resource catalog: ``/api/v1/catalog/{configs,checks,components}[/{id}]``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ara.catalog import service
from ara.playbooks.permissions import require
from ara.server.deps import StateDep, transaction
from ara.server.routes.bodies import json_body
from ara.server.state import AppState

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])


async def _call(request: Request, state: AppState, action: str, work: Any) -> Any:
    def run() -> Any:
        with transaction(request, state) as (session, identity):
            require(session, identity, None, action)
            return work(session)

    return await run_in_threadpool(run)


@router.get("/{kind}")
async def list_items(kind: str, request: Request, state: StateDep) -> JSONResponse:
    items = await _call(request, state, "read", lambda s: [service.as_dict(i) for i in service.list_items(s, kind)])
    return JSONResponse(items)


@router.post("/{kind}", status_code=201)
async def create_item(kind: str, request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})
    item = await _call(request, state, "define", lambda s: service.as_dict(service.create_item(s, kind, body)))
    return JSONResponse(item, status_code=201)


@router.get("/{kind}/{item_id}")
async def read_item(kind: str, item_id: str, request: Request, state: StateDep) -> JSONResponse:
    item = await _call(request, state, "read", lambda s: service.as_dict(service.get_item(s, kind, item_id)))
    return JSONResponse(item)


@router.api_route("/{kind}/{item_id}", methods=["PUT", "PATCH"])
async def update_item(kind: str, item_id: str, request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})
    partial = request.method == "PATCH"
    item = await _call(
        request,
        state,
        "define",
        lambda s: service.as_dict(service.update_item(s, kind, item_id, body, partial=partial)),
    )
    return JSONResponse(item)


@router.delete("/{kind}/{item_id}", status_code=204)
async def delete_item(kind: str, item_id: str, request: Request, state: StateDep) -> Response:
    await _call(request, state, "define", lambda s: service.delete_item(s, kind, item_id))
    return Response(status_code=204)
