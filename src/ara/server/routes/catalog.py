"""The resource catalog: ``/api/v1/catalog/{configs,checks,components}[/{id}]``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ara.catalog import service
from ara.catalog.models import KINDS
from ara.catalog.schemas import CatalogItemCreate, CatalogItemRead, CatalogItemUpdate
from ara.playbooks.permissions import require
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body
from ara.server.state import AppState

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], route_class=OwnRoute)
# Documented as the three kinds; anything else is a 404 from the service, as before.
Kind = Annotated[str, Path(json_schema_extra={"enum": list(KINDS)})]


async def _call(request: Request, state: AppState, action: str, work: Any) -> Any:
    def run() -> Any:
        with transaction(request, state) as (session, identity):
            require(session, identity, None, action)
            return work(session)

    return await run_in_threadpool(run)


@router.get("/{kind}", response_model=list[CatalogItemRead])
async def list_items(kind: Kind, request: Request, state: StateDep) -> JSONResponse:
    items = await _call(request, state, "read", lambda s: [service.as_dict(i) for i in service.list_items(s, kind)])
    return JSONResponse(items)


@router.post("/{kind}", status_code=201, response_model=CatalogItemRead, openapi_extra=request_body(CatalogItemCreate))
async def create_item(kind: Kind, request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})
    item = await _call(request, state, "define", lambda s: service.as_dict(service.create_item(s, kind, body)))
    return JSONResponse(item, status_code=201)


@router.get("/{kind}/{item_id}", response_model=CatalogItemRead)
async def read_item(kind: Kind, item_id: str, request: Request, state: StateDep) -> JSONResponse:
    item = await _call(request, state, "read", lambda s: service.as_dict(service.get_item(s, kind, item_id)))
    return JSONResponse(item)


@router.put("/{kind}/{item_id}", response_model=CatalogItemRead, openapi_extra=request_body(CatalogItemCreate))
@router.patch(
    "/{kind}/{item_id}",
    name="patch_item",
    response_model=CatalogItemRead,
    openapi_extra=request_body(CatalogItemUpdate),
)
async def update_item(kind: Kind, item_id: str, request: Request, state: StateDep) -> JSONResponse:
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
async def delete_item(kind: Kind, item_id: str, request: Request, state: StateDep) -> Response:
    await _call(request, state, "define", lambda s: service.delete_item(s, kind, item_id))
    return Response(status_code=204)
