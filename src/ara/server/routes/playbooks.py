"""Playbook definitions and runs over Mission Control's routes (``/playbook/...``, ``/artifacts/...``).

Handlers validate, call the playbooks domain and answer; they never execute an action (the worker does)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import select

from ara.errors import NotFound, ValidationFailed
from ara.playbooks import definitions, permissions, runs
from ara.playbooks.models import Artifact, PlaybookRun
from ara.playbooks.permissions import require
from ara.server.deps import StateDep, transaction
from ara.server.routes.bodies import json_body
from ara.server.state import AppState
from ara.server.webhooks import accept_webhook

router = APIRouter(tags=["playbooks"])


def _iso(run: PlaybookRun) -> str:
    return run.scheduled_time.isoformat().replace("+00:00", "Z")


def _sync(request: Request, state: AppState, work: Any) -> Any:
    with transaction(request, state) as (session, identity):
        return work(session, identity)


async def _call(request: Request, state: AppState, work: Any) -> Any:
    """Database work runs in the threadpool, inside one transaction with the caller's identity."""
    return await run_in_threadpool(_sync, request, state, work)


@router.api_route("/playbook/list", methods=["GET", "POST"])
async def list_playbooks(request: Request, state: StateDep) -> JSONResponse:
    query = dict(request.query_params)
    if request.method == "POST":
        body = await json_body(request, default={})
        if isinstance(body, dict):
            query.update({k: str(v) for k, v in body.items() if v})

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


@router.post("/playbook/run", status_code=201)
async def run_playbook(request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})
    if not isinstance(body, dict) or not body.get("id"):
        raise ValidationFailed({"id": ["the playbook id is required"]})

    def work(session: Any, identity: Any) -> dict[str, str]:
        run = runs.create_run(
            session, state.engine_context.box, playbook_id=str(body["id"]), request=body, identity=identity
        )
        return {"run_id": run.id, "starts_at": _iso(run), "status": run.status}

    answer = await _call(request, state, work)
    state.wake_worker()
    return JSONResponse(answer, status_code=201)


async def _decide(
    request: Request, state: AppState, run_id: str, playbook_id: str | None, approved: bool
) -> JSONResponse:
    body = await json_body(request, default={})
    comment = str(body.get("comment", "")) if isinstance(body, dict) else ""

    def work(session: Any, identity: Any) -> dict[str, Any]:
        run = runs.decide(session, run_id, identity, approved=approved, comment=comment, playbook_id=playbook_id)
        return {"run_id": run.id, "status": run.status}

    answer = await _call(request, state, work)
    state.wake_worker()
    return JSONResponse(answer)


@router.post("/playbook/run/approve/{playbook_id}/{run_id}")
async def approve_run(playbook_id: str, run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, playbook_id, True)


@router.post("/playbook/run/approve/{run_id}")
async def approve_run_by_id(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, None, True)


@router.post("/playbook/run/reject/{playbook_id}/{run_id}")
async def reject_run(playbook_id: str, run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, playbook_id, False)


@router.post("/playbook/run/reject/{run_id}")
async def reject_run_by_id(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    return await _decide(request, state, run_id, None, False)


@router.post("/playbook/run/cancel/{run_id}")
async def cancel_run(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        run = runs.cancel_run(session, run_id, identity)
        return {"run_id": run.id, "status": run.status}

    return JSONResponse(await _call(request, state, work))


@router.post("/playbook/run/rerun/{run_id}", status_code=201)
async def rerun(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, str]:
        run = runs.rerun(session, state.engine_context.box, run_id, identity)
        return {"run_id": run.id, "starts_at": _iso(run), "status": run.status}

    answer = await _call(request, state, work)
    state.wake_worker()
    return JSONResponse(answer, status_code=201)


@router.get("/playbook/run/{run_id}/status")
async def run_status(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        view = runs.run_status(session, run_id)
        require(session, identity, view["run"]["playbook_id"], "read")
        return view

    return JSONResponse(await _call(request, state, work))


@router.get("/playbook/run/{run_id}")
async def get_run(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        run = runs.get_run(session, run_id)
        require(session, identity, run.playbook_id, "read")
        return runs.run_dict(run)

    return JSONResponse(await _call(request, state, work))


@router.get("/playbook/runs")
async def list_runs(request: Request, state: StateDep) -> JSONResponse:
    playbook_id = request.query_params.get("playbook_id")
    status = request.query_params.getlist("status")

    def work(session: Any, identity: Any) -> list[dict[str, Any]]:
        require(session, identity, None, "read")
        query = select(PlaybookRun).order_by(PlaybookRun.created_at.desc()).limit(500)
        if playbook_id:
            query = query.where(PlaybookRun.playbook_id == playbook_id)
        if status:
            query = query.where(PlaybookRun.status.in_(status))
        return [runs.run_dict(run) for run in session.scalars(query)]

    return JSONResponse(await _call(request, state, work))


@router.post("/playbook/webhook/{path:path}")
async def webhook(path: str, request: Request, state: StateDep) -> JSONResponse:
    raw = await request.body()
    run_id = await run_in_threadpool(accept_webhook, state, path, request, raw)
    state.wake_worker()
    return JSONResponse({"run_id": run_id}, status_code=201)


@router.post("/playbook/{playbook_id}/params")
async def playbook_params(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})

    def work(session: Any, identity: Any) -> dict[str, Any]:
        require(session, identity, playbook_id, "read")
        return runs.params_form(session, playbook_id, body, identity)

    return JSONResponse(await _call(request, state, work))


@router.get("/playbook/{playbook_id}/permissions")
async def list_permissions(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> list[dict[str, str]]:
        require(session, identity, playbook_id, "read")
        definitions.get_definition(session, playbook_id)
        return permissions.grants(session, playbook_id)

    return JSONResponse(await _call(request, state, work))


@router.post("/playbook/{playbook_id}/permissions", status_code=201)
async def grant_permission(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    """Beyond a role: let a user, ``team:NAME`` or ``role:NAME`` run, approve or cancel this playbook."""
    body = await json_body(request, default={})
    body = body if isinstance(body, dict) else {}

    def work(session: Any, identity: Any) -> dict[str, str]:
        require(session, identity, playbook_id, "define")
        definitions.get_definition(session, playbook_id)
        row = permissions.grant(session, playbook_id, str(body.get("principal", "")), str(body.get("action", "")))
        return {"id": row.id, "principal": row.principal, "action": row.action}

    return JSONResponse(await _call(request, state, work), status_code=201)


@router.delete("/playbook/{playbook_id}/permissions/{permission_id}", status_code=204)
async def revoke_permission(playbook_id: str, permission_id: str, request: Request, state: StateDep) -> Response:
    def work(session: Any, identity: Any) -> None:
        require(session, identity, playbook_id, "define")
        permissions.revoke(session, playbook_id, permission_id)

    await _call(request, state, work)
    return Response(status_code=204)


@router.post("/playbook", status_code=201)
async def create_definition(request: Request, state: StateDep) -> JSONResponse:
    document = await json_body(request, allow_yaml=True)
    upsert = request.query_params.get("upsert") in ("1", "true")

    def work(session: Any, identity: Any) -> tuple[dict[str, Any], bool]:
        require(session, identity, None, "define")
        source = request.query_params.get("source", "api")
        definition, created = definitions.save_definition(
            session, document, box=state.engine_context.box, created_by=identity.username, source=source, upsert=upsert
        )
        return definitions.as_dict(definition), created

    data, created = await _call(request, state, work)
    return JSONResponse(data, status_code=201 if created else 200)


@router.get("/playbook/{playbook_id}")
async def read_definition(playbook_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> dict[str, Any]:
        require(session, identity, playbook_id, "read")
        return definitions.as_dict(definitions.get_definition(session, playbook_id))

    return JSONResponse(await _call(request, state, work))


@router.put("/playbook/{playbook_id}")
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


@router.get("/artifacts/list/playbook_run/{run_id}")
async def list_artifacts(run_id: str, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Any, identity: Any) -> list[dict[str, Any]]:
        run = runs.get_run(session, run_id)
        require(session, identity, run.playbook_id, "read")
        rows = session.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.created_at))
        return [
            {
                "id": a.id,
                "playbook_run_action_id": a.action_id,
                "path": a.path,
                "filename": a.filename,
                "size": a.size,
                "content_type": a.content_type,
                "checksum": a.sha256,
                "created_at": a.created_at.isoformat().replace("+00:00", "Z"),
            }
            for a in rows
        ]

    return JSONResponse(await _call(request, state, work))


@router.get("/artifacts/download/{artifact_id}")
async def download_artifact(artifact_id: str, request: Request, state: StateDep) -> FileResponse:
    def work(session: Any, identity: Any) -> tuple[Any, str, str]:
        artifact = session.get(Artifact, artifact_id)
        if artifact is None:
            raise NotFound(f"artifact {artifact_id} not found")
        run = runs.get_run(session, artifact.run_id)
        require(session, identity, run.playbook_id, "read")
        return state.engine_context.store.open_path(artifact), artifact.filename, artifact.content_type

    path, filename, content_type = await _call(request, state, work)
    wanted = request.query_params.get("filename") or filename
    safe = wanted.replace("/", "_").replace("\\", "_").replace("\x00", "") or "artifact"
    return FileResponse(path, media_type=content_type, filename=safe)
