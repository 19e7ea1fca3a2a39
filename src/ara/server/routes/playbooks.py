"""Playbook definitions and runs over Mission Control's routes (``/playbook/...``, ``/artifacts/...``).

Handlers validate, call the playbooks domain and answer; they never execute an action (the worker does)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from ara.db.types import iso
from ara.errors import ValidationFailed
from ara.lifecycle.states import RunStatus
from ara.playbooks import definitions, permissions, runs
from ara.playbooks.artifacts import ArtifactStore, artifact_dict, find_artifact, iter_chunks, run_artifacts
from ara.playbooks.models import Artifact
from ara.playbooks.permissions import require
from ara.playbooks.schemas import (
    ArtifactRead,
    DefinitionCreate,
    DefinitionRead,
    ParamsForm,
    ParamsRequest,
    PermissionCreate,
    PermissionRead,
    RunCreate,
    RunCreated,
    RunDecision,
    RunRead,
    RunStatusChanged,
    RunStatusRead,
    WebhookAccepted,
)
from ara.records.fields import INT64_MAX
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.state import AppState
from ara.server.webhooks import accept_webhook
from ara.users.service import Identity

router = APIRouter(tags=["playbooks"], route_class=OwnRoute)
SHORT_PAGE = 50  # runs: a page this size or smaller is a short read (see ``_call``)
Id = Annotated[str, Query(max_length=36)]
_DECISION: dict[str, Any] = {
    "response_model": RunStatusChanged,
    "openapi_extra": request_body(RunDecision, required=False),
}
_SELECTOR = {
    "type": "object",
    "properties": {name: {"type": "string", "maxLength": 36} for name in ("config_id", "check_id", "component_id")},
}


def _sync(request: Request, state: AppState, work: Any) -> Any:
    with transaction(request, state) as (session, identity):
        return work(session, identity)


async def _call(request: Request, state: AppState, work: Any, *, short_read: bool = False) -> Any:
    """Database work runs in the threadpool, inside one transaction with the caller's identity. ``short_read``: a
    read of a few rows (what pollers ask for), run on the event loop where reads may (``AppState.reads_inline``)."""
    if short_read and state.reads_inline:
        return _sync(request, state, work)
    return await run_in_threadpool(_sync, request, state, work)


# The routes a run's trigger and its pollers call are declared (so matched) first: each route tried before the
# matching one costs a request about 40 Python calls.
@router.post("/playbook/run", status_code=201, response_model=RunCreated, openapi_extra=request_body(RunCreate))
async def run_playbook(request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})

    def work(session: Any, identity: Any) -> dict[str, str]:
        if not isinstance(body, dict) or not body.get("id"):
            raise ValidationFailed({"id": ["the playbook id is required"]})
        validated(RunCreate, body)
        run = runs.create_run(
            session, state.engine_context.box, playbook_id=str(body["id"]), request=body, identity=identity
        )
        return {"run_id": run.id, "starts_at": iso(run.scheduled_time), "status": run.status}

    answer = await _call(request, state, work)
    return JSONResponse(answer, status_code=201)


@router.get("/playbook/runs", response_model=list[RunRead])
async def list_runs(
    request: Request,
    state: StateDep,
    playbook_id: Id | None = None,
    status: Annotated[list[RunStatus], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    offset: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
) -> JSONResponse:
    """Newest first."""

    def work(session: Any, identity: Any) -> list[dict[str, Any]]:
        require(session, identity, None, "read")
        found = runs.list_runs(session, playbook_id=playbook_id, statuses=status, limit=limit, offset=offset)
        return [runs.run_dict(run) for run in found]

    return JSONResponse(await _call(request, state, work, short_read=limit <= SHORT_PAGE))


@router.get("/playbook/run/{run_id}", response_model=RunRead)
async def get_run(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        run = runs.get_run(session, run_id)
        require(session, identity, run.playbook_id, "read")
        return runs.run_dict(run)

    return JSONResponse(await _call(request, state, work, short_read=True))


@router.get("/playbook/list", response_model=list[DefinitionRead])
@router.post(
    "/playbook/list",
    name="search_playbooks",
    response_model=list[DefinitionRead],
    openapi_extra=request_body(schema=_SELECTOR, required=False),
)
async def list_playbooks(
    request: Request,
    state: StateDep,
    config_id: Id | None = None,
    check_id: Id | None = None,
    component_id: Id | None = None,
) -> JSONResponse:
    """Every live definition, or those whose selectors match one catalog item (by query or, for POST, body)."""
    query = {"config_id": config_id, "check_id": check_id, "component_id": component_id}
    if request.method == "POST":
        body = await json_body(request, default={})
        if isinstance(body, dict):
            query.update({k: str(v) for k, v in body.items() if k in query and v})

    def work(session: Any, identity: Any) -> list[dict[str, Any]]:
        require(session, identity, None, "read")
        found = definitions.list_definitions(
            session,
            config_id=query.get("config_id"),
            check_id=query.get("check_id"),
            component_id=query.get("component_id"),
        )
        return [definitions.as_dict(d) for d in found]

    return JSONResponse(await _call(request, state, work))


async def _decide(
    request: Request, state: AppState, run_id: str, playbook_id: str | None, approved: bool
) -> JSONResponse:
    body = await json_body(request, default={})

    def work(session: Any, identity: Any) -> dict[str, Any]:
        comment = validated(RunDecision, body).comment
        run = runs.decide(session, run_id, identity, approved=approved, comment=comment, playbook_id=playbook_id)
        return {"run_id": run.id, "status": run.status}

    answer = await _call(request, state, work)
    return JSONResponse(answer)


@router.post("/playbook/run/approve/{playbook_id}/{run_id}", **_DECISION)
async def approve_run(playbook_id: str, run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, playbook_id, True)


@router.post("/playbook/run/approve/{run_id}", **_DECISION)
async def approve_run_by_id(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, None, True)


@router.post("/playbook/run/reject/{playbook_id}/{run_id}", **_DECISION)
async def reject_run(playbook_id: str, run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, playbook_id, False)


@router.post("/playbook/run/reject/{run_id}", **_DECISION)
async def reject_run_by_id(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, None, False)


@router.post("/playbook/run/cancel/{run_id}", response_model=RunStatusChanged)
async def cancel_run(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        run = runs.cancel_run(session, run_id, identity)
        return {"run_id": run.id, "status": run.status}

    return JSONResponse(await _call(request, state, work))


@router.post("/playbook/run/rerun/{run_id}", status_code=201, response_model=RunCreated)
async def rerun(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, str]:
        run = runs.rerun(session, state.engine_context.box, run_id, identity)
        return {"run_id": run.id, "starts_at": iso(run.scheduled_time), "status": run.status}

    answer = await _call(request, state, work)
    return JSONResponse(answer, status_code=201)


@router.get("/playbook/run/{run_id}/status", response_model=RunStatusRead)
async def run_status(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        view = runs.run_status(session, run_id)
        require(session, identity, view["run"]["playbook_id"], "read")
        return view

    return JSONResponse(await _call(request, state, work))  # not short: each action's output, up to 1 MiB


@router.post(
    "/playbook/webhook/{path:path}",
    status_code=201,
    response_model=WebhookAccepted,
    openapi_extra=request_body(schema={}, required=False),
)
async def webhook(path: str, request: Request, state: StateDep) -> JSONResponse:
    raw = await request.body()
    run_id = await run_in_threadpool(accept_webhook, state, path, request, raw)
    return JSONResponse({"run_id": run_id}, status_code=201)


@router.post(
    "/playbook/{playbook_id}/params",
    response_model=ParamsForm,
    openapi_extra=request_body(ParamsRequest, required=False),
)
async def playbook_params(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})

    def work(session: Any, identity: Any) -> dict[str, Any]:
        require(session, identity, playbook_id, "read")
        validated(ParamsRequest, body)
        return runs.params_form(session, playbook_id, body, identity)

    return JSONResponse(await _call(request, state, work))


@router.get("/playbook/{playbook_id}/permissions", response_model=list[PermissionRead])
async def list_permissions(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> list[dict[str, str]]:
        require(session, identity, playbook_id, "read")
        definitions.get_definition(session, playbook_id)
        return permissions.grants(session, playbook_id)

    return JSONResponse(await _call(request, state, work))


@router.post(
    "/playbook/{playbook_id}/permissions",
    status_code=201,
    response_model=PermissionRead,
    openapi_extra=request_body(PermissionCreate),
)
async def grant_permission(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    """Beyond a role: let a user, ``team:NAME`` or ``role:NAME`` run, approve or cancel this playbook."""
    body = await json_body(request, default={})

    def work(session: Any, identity: Any) -> dict[str, str]:
        require(session, identity, playbook_id, "define")
        given = validated(PermissionCreate, body)
        definitions.get_definition(session, playbook_id)
        row = permissions.grant(session, playbook_id, given.principal, given.action)
        return {"id": row.id, "principal": row.principal, "action": row.action}

    return JSONResponse(await _call(request, state, work), status_code=201)


@router.delete("/playbook/{playbook_id}/permissions/{permission_id}", status_code=204)
async def revoke_permission(playbook_id: str, permission_id: str, request: Request, state: StateDep) -> Response:
    def work(session: Any, identity: Any) -> None:
        require(session, identity, playbook_id, "define")
        permissions.revoke(session, playbook_id, permission_id)

    await _call(request, state, work)
    return Response(status_code=204)


@router.post(
    "/playbook",
    status_code=201,
    response_model=DefinitionRead,
    responses={200: {"description": "Replaced (upsert)", "model": DefinitionRead}},
    openapi_extra=request_body(DefinitionCreate, yaml=True),
)
async def create_definition(
    request: Request,
    state: StateDep,
    upsert: Annotated[str, Query(description="1 or true: replace the live definition of that name")] = "",
    source: Annotated[str, Query(max_length=32)] = "api",
) -> JSONResponse:
    document = await json_body(request, allow_yaml=True)
    replace = upsert in ("1", "true")

    def work(session: Any, identity: Any) -> tuple[dict[str, Any], bool]:
        require(session, identity, None, "define")
        definition, created = definitions.save_definition(
            session, document, box=state.engine_context.box, created_by=identity.username, source=source, upsert=replace
        )
        return definitions.as_dict(definition), created

    data, created = await _call(request, state, work)
    return JSONResponse(data, status_code=201 if created else 200)


@router.get("/playbook/{playbook_id}", response_model=DefinitionRead)
async def read_definition(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        require(session, identity, playbook_id, "read")
        return definitions.as_dict(definitions.get_definition(session, playbook_id))

    return JSONResponse(await _call(request, state, work))


@router.put(
    "/playbook/{playbook_id}", response_model=DefinitionRead, openapi_extra=request_body(DefinitionCreate, yaml=True)
)
async def replace_definition(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    document = await json_body(request, allow_yaml=True)

    def work(session: Any, identity: Any) -> dict[str, Any]:
        require(session, identity, playbook_id, "define")
        replaced = definitions.replace_definition(session, playbook_id, document, box=state.engine_context.box)
        return definitions.as_dict(replaced)

    return JSONResponse(await _call(request, state, work))


@router.delete("/playbook/{playbook_id}", status_code=204)
async def delete_definition(playbook_id: str, request: Request, state: StateDep) -> Response:
    def work(session: Any, identity: Any) -> None:
        require(session, identity, playbook_id, "define")
        definitions.delete_definition(session, playbook_id)

    await _call(request, state, work)
    return Response(status_code=204)


@router.get("/artifacts/list/playbook_run/{run_id}", response_model=list[ArtifactRead])
async def list_artifacts(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> list[dict[str, Any]]:
        run = runs.get_run(session, run_id)
        require(session, identity, run.playbook_id, "read")
        return [artifact_dict(a) for a in run_artifacts(session, run_id)]

    return JSONResponse(await _call(request, state, work))


@router.get(
    "/artifacts/download/{artifact_id}",
    response_class=FileResponse,
    responses={200: {"description": "The file", "content": {"application/octet-stream": {}}}},
)
async def download_artifact(
    artifact_id: str,
    request: Request,
    state: StateDep,
    filename: Annotated[str, Query(max_length=255, description="Save as (path separators removed)")] = "",
) -> Response:
    def work(session: Any, identity: Any) -> Download:
        return open_artifact(session, identity, state.engine_context.store, artifact_id)

    return artifact_response(await _call(request, state, work), filename)


Download = tuple[Path | IO[bytes], Artifact]


def open_artifact(session: Session, identity: Identity | None, store: ArtifactStore, artifact_id: str) -> Download:
    """The artifact's content for a caller who may read its run (the API's download and the UI's)."""
    artifact = find_artifact(session, artifact_id)
    run = runs.get_run(session, artifact.run_id)
    require(session, identity, run.playbook_id, "read")
    # Opened here, so a missing object is a 404 before any byte is sent.
    return (store.local_path(artifact) if store.is_local else store.open(artifact)), artifact


def artifact_response(download: Download, filename: str = "") -> Response:
    """The file as an attachment named ``filename`` (or its stored name), path separators removed."""
    content, artifact = download
    wanted = filename or artifact.filename
    safe = wanted.replace("/", "_").replace("\\", "_").replace("\x00", "") or "artifact"
    if isinstance(content, Path):
        return FileResponse(content, media_type=artifact.content_type, filename=safe)  # sendfile and ranges
    headers = {"content-disposition": attachment(safe), "content-length": str(artifact.size)}
    return StreamingResponse(iter_chunks(content), media_type=artifact.content_type, headers=headers)


def attachment(filename: str) -> str:
    """The ``content-disposition`` that ``FileResponse`` would send, for a streamed download."""
    quoted = quote(filename)
    return f"attachment; filename*=utf-8''{quoted}" if quoted != filename else f'attachment; filename="{filename}"'
