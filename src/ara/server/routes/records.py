"""The ARA-compatible records API: ``/api/`` and, per resource, list/create/retrieve/update/partial/delete
under ``/api/v1/<resource>`` with no trailing slashes."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse

import ara
from ara.errors import BodyNotJson
from ara.records import idempotency
from ara.records.resources import RESOURCES, Resource
from ara.server.deps import StateDep, transaction
from ara.server.pagination import page

router = APIRouter(tags=["records"])
JsonBody = Annotated[Any, Body()]


@router.get("/api/", include_in_schema=False)
@router.get("/api")
def api_index(request: Request) -> dict[str, Any]:
    return {"kind": "ara", "version": ara.__version__, "api": [str(request.base_url) + "api/v1/"]}


@router.get("/api/v1/", include_in_schema=False)
@router.get("/api/v1")
def api_root(request: Request) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {name: f"{base}/api/v1/{name}" for name in RESOURCES}


def _json(body: Any) -> Any:
    """FastAPI hands over raw bytes when the request did not say it was JSON; parse those too."""
    if body is None:
        return {}
    if isinstance(body, bytes | str):
        try:
            return json.loads(body) if body else {}
        except ValueError as exc:
            raise BodyNotJson(str(exc)) from None
    return body


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _register(resource: Resource) -> None:
    base = f"/api/v1/{resource.name}"
    singular = resource.name.rstrip("s")

    def list_objects(request: Request, state: StateDep) -> JSONResponse:
        with transaction(request, state) as (session, _):
            count, results, limit, offset = resource.list(session, _params(request), state.settings.server.page_size)
        return JSONResponse(page(request.url, count=count, limit=limit, offset=offset, results=results))

    def retrieve_object(key: str, request: Request, state: StateDep) -> JSONResponse:
        with transaction(request, state) as (session, _):
            return JSONResponse(resource.retrieve(session, key))

    router.add_api_route(base, list_objects, methods=["GET"], name=f"list_{resource.name}")
    router.add_api_route(base + "/{key}", retrieve_object, methods=["GET"], name=f"read_{singular}")
    if resource.read_only:
        return

    def create_object(request: Request, state: StateDep, body: JsonBody = None) -> JSONResponse:
        key = idempotency.checked_key(request.headers.get(idempotency.HEADER))
        try:
            with transaction(request, state) as (session, _):
                seen = idempotency.find(session, key, resource.name) if key else None
                if seen is not None:
                    data = resource.written(session, resource.lookup(session, str(seen.object_id)))
                    return JSONResponse(data, status_code=seen.status_code)
                data = resource.create(session, _json(body))
                if key:
                    idempotency.remember(session, key, resource.name, data["id"], 201)
        except idempotency.KeyTaken:
            # The same key raced in another request, which committed first: answer what that one created.
            with transaction(request, state) as (session, _):
                seen = idempotency.find(session, key or "", resource.name)
                if seen is None:
                    raise
                data = resource.written(session, resource.lookup(session, str(seen.object_id)))
                return JSONResponse(data, status_code=seen.status_code)
        return JSONResponse(data, status_code=201)

    def update_object(key: str, request: Request, state: StateDep, body: JsonBody = None) -> JSONResponse:
        with transaction(request, state) as (session, _):
            data = resource.update(session, key, _json(body), partial=request.method == "PATCH")
        return JSONResponse(data)

    def delete_object(key: str, request: Request, state: StateDep) -> Response:
        with transaction(request, state) as (session, _):
            resource.destroy(session, key)
        return Response(status_code=204)

    router.add_api_route(base, create_object, methods=["POST"], name=f"create_{singular}", status_code=201)
    router.add_api_route(base + "/{key}", update_object, methods=["PUT"], name=f"update_{singular}")
    router.add_api_route(base + "/{key}", update_object, methods=["PATCH"], name=f"patch_{singular}")
    router.add_api_route(base + "/{key}", delete_object, methods=["DELETE"], name=f"delete_{singular}", status_code=204)


# Routes are matched in order: the callback's hot paths (results, tasks, hosts) come first.
_BY_TRAFFIC = ("results", "tasks", "hosts", "files", "plays", "playbooks", "records", "labels", "latesthosts")
for _name in sorted(RESOURCES, key=lambda name: _BY_TRAFFIC.index(name) if name in _BY_TRAFFIC else len(_BY_TRAFFIC)):
    _register(RESOURCES[_name])
