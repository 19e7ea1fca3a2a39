"""The ARA-compatible records API: ``/api/`` and, per resource, list/create/retrieve/update/partial/delete
under ``/api/v1/<resource>`` with no trailing slashes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

import ara
from ara.records import idempotency, schemas
from ara.records.resources import RESOURCES, Resource
from ara.server.deps import StateDep, transaction
from ara.server.openapi import register_schema, request_body
from ara.server.pagination import page
from ara.server.responses import JSONResponse
from ara.server.routes.bodies import parse_json

router = APIRouter(tags=["records"])
IDEMPOTENCY_PARAMETER = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "description": "A key chosen by the client: a create repeated with the same key answers the object it created "
    "the first time (with the first status) and creates nothing.",
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY},
}


@router.get("/api/", include_in_schema=False)
@router.get("/api")
def api_index(request: Request) -> dict[str, Any]:
    return {"kind": "ara", "version": ara.__version__, "api": [str(request.base_url) + "api/v1/"]}


@router.get("/api/v1/", include_in_schema=False)
@router.get("/api/v1")
def api_root(request: Request) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {name: f"{base}/api/v1/{name}" for name in RESOURCES}


def _json(raw: bytes) -> Any:
    """The body as JSON whatever its content type (ARA's clients do not always say); empty means ``{}``."""
    return parse_json(raw) if raw.strip() else {}


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _json_response(schema_ref: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _register(resource: Resource) -> None:
    base = f"/api/v1/{resource.name}"
    singular = resource.name.rstrip("s")
    title = resource.name.capitalize()
    item = register_schema(f"{title}Read", schemas.object_schema(resource))
    listed = register_schema(f"{title}List", schemas.list_schema(item))

    def list_objects(request: Request, state: StateDep) -> JSONResponse:
        with transaction(request, state) as (session, _):
            count, results, limit, offset = resource.list(session, _params(request), state.settings.server.page_size)
        return JSONResponse(page(request.url, count=count, limit=limit, offset=offset, results=results))

    def retrieve_object(key: str, request: Request, state: StateDep) -> JSONResponse:
        with transaction(request, state) as (session, _):
            return JSONResponse(resource.retrieve(session, key))

    router.add_api_route(
        base,
        list_objects,
        methods=["GET"],
        name=f"list_{resource.name}",
        responses={200: _json_response(listed)},
        openapi_extra={"parameters": schemas.list_parameters(resource)},
    )
    router.add_api_route(
        base + "/{key}",
        retrieve_object,
        methods=["GET"],
        name=f"read_{singular}",
        responses={200: _json_response(item)},
    )
    if resource.read_only:
        return

    # The body is read here, not by FastAPI, so it is parsed after the caller is known and with our JSON rules.
    async def create_object(request: Request, state: StateDep) -> JSONResponse:
        raw = await request.body()
        key = idempotency.checked_key(request.headers.get(idempotency.HEADER))

        def remembered(session: Any) -> tuple[dict[str, Any], int] | None:
            """What an earlier request with this key created, as it is now."""
            seen = idempotency.find(session, key, resource.name) if key else None
            if seen is None:
                return None
            return resource.written(session, resource.lookup(session, str(seen.object_id))), seen.status_code

        def work() -> tuple[dict[str, Any], int]:
            try:
                with transaction(request, state) as (session, _):
                    answer = remembered(session)
                    if answer is not None:
                        return answer
                    data = resource.create(session, _json(raw))
                    if key:
                        idempotency.remember(session, key, resource.name, data["id"], 201)
                    return data, 201
            except idempotency.KeyTaken:
                # The same key raced in another request, which committed first: answer what that one created.
                with transaction(request, state) as (session, _):
                    answer = remembered(session)
                if answer is None:
                    raise
                return answer

        data, status = await run_in_threadpool(work)
        return JSONResponse(data, status_code=status)

    async def update_object(key: str, request: Request, state: StateDep) -> JSONResponse:
        raw = await request.body()

        def work() -> dict[str, Any]:
            with transaction(request, state) as (session, _):
                return resource.update(session, key, _json(raw), partial=request.method == "PATCH")

        return JSONResponse(await run_in_threadpool(work))

    def delete_object(key: str, request: Request, state: StateDep) -> Response:
        with transaction(request, state) as (session, _):
            resource.destroy(session, key)
        return Response(status_code=204)

    create = register_schema(f"{title}Create", schemas.request_schema(resource, partial=False))
    update = register_schema(f"{title}Update", schemas.request_schema(resource, partial=True))
    router.add_api_route(
        base,
        create_object,
        methods=["POST"],
        name=f"create_{singular}",
        status_code=201,
        responses={201: _json_response(item, "Created")},
        openapi_extra={**request_body(schema={"$ref": create}), "parameters": [IDEMPOTENCY_PARAMETER]},
    )
    router.add_api_route(
        base + "/{key}",
        update_object,
        methods=["PUT"],
        name=f"update_{singular}",
        responses={200: _json_response(item)},
        openapi_extra=request_body(schema={"$ref": create}),
    )
    router.add_api_route(
        base + "/{key}",
        update_object,
        methods=["PATCH"],
        name=f"patch_{singular}",
        responses={200: _json_response(item)},
        openapi_extra=request_body(schema={"$ref": update}),
    )
    router.add_api_route(base + "/{key}", delete_object, methods=["DELETE"], name=f"delete_{singular}", status_code=204)


# Routes are matched in order: the callback's hot paths (results, tasks, hosts) come first.
_BY_TRAFFIC = ("results", "tasks", "hosts", "files", "plays", "playbooks", "records", "labels", "latesthosts")
for _name in sorted(RESOURCES, key=lambda name: _BY_TRAFFIC.index(name) if name in _BY_TRAFFIC else len(_BY_TRAFFIC)):
    _register(RESOURCES[_name])
