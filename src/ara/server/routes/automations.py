"""The 0.1.58 ``/automations/...`` routes (user key): a user's automation jobs and their runs, the same rows the
``automation_*`` tools write. Anyone else's id is 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from ara.errors import Unauthenticated, ValidationFailed
from ara.runtime.automations import service
from ara.runtime.automations.schemas import (
    AutomationRunAnswer,
    AutomationRunsList,
    JobAnswer,
    JobCreate,
    JobDeleted,
    JobsList,
    JobUpdate,
    ReplayBody,
)
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_object
from ara.server.state import AppState

router = APIRouter(prefix="/automations", tags=["automations"], route_class=OwnRoute)
JobId = Annotated[str, Path(max_length=64)]


async def _as_owner(request: Request, state: AppState, work: Any) -> Any:
    """``work(session, user_id)`` in one transaction, for the caller (``/automations`` always needs a login)."""

    def run() -> Any:
        with transaction(request, state) as (session, identity):
            if identity is None:
                raise Unauthenticated("Authentication credentials were not provided.")
            return work(session, identity.user_id)

    return await run_in_threadpool(run)


@router.get("/jobs", response_model=JobsList)
async def list_jobs(request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, user_id: int) -> dict[str, Any]:
        return {"ok": True, "jobs": [service.describe_job(job) for job in service.list_jobs(session, user_id)]}

    return JSONResponse(await _as_owner(request, state, work))


@router.post("/jobs", status_code=201, response_model=JobAnswer, openapi_extra=request_body(JobCreate))
async def create_job(request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)

    def work(session: Session, user_id: int) -> dict[str, Any]:
        return {"ok": True, "job": service.describe_job(service.create_job(session, user_id, body))}

    return JSONResponse(await _as_owner(request, state, work), status_code=201)


@router.patch("/jobs/{job_id}", response_model=JobAnswer, openapi_extra=request_body(JobUpdate))
async def update_job(job_id: JobId, request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)
    if not body:
        raise ValidationFailed({"body": ["nothing to change"]})

    def work(session: Session, user_id: int) -> dict[str, Any]:
        return {"ok": True, "job": service.describe_job(service.update_job(session, user_id, job_id, body))}

    return JSONResponse(await _as_owner(request, state, work))


@router.delete("/jobs/{job_id}", response_model=JobDeleted)
async def delete_job(job_id: JobId, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, user_id: int) -> dict[str, Any]:
        service.delete_job(session, user_id, job_id)
        return {"ok": True, "deleted": job_id}

    return JSONResponse(await _as_owner(request, state, work))


@router.get("/runs", response_model=AutomationRunsList)
async def list_runs(
    request: Request, state: StateDep, state_: Annotated[str, Query(alias="state", max_length=32)] = ""
) -> JSONResponse:
    """``state``: a run status (``scheduled``, ``running``, ``retrying``, ``completed``, ``failed``...)."""

    def work(session: Session, user_id: int) -> dict[str, Any]:
        found = service.list_runs(session, user_id, state=state_.strip())
        return {"ok": True, "runs": [service.describe_run(run) for run in found]}

    return JSONResponse(await _as_owner(request, state, work))


@router.post(
    "/runs/{run_id}/replay",
    status_code=201,
    response_model=AutomationRunAnswer,
    openapi_extra=request_body(ReplayBody, required=False),
)
async def replay_run(run_id: JobId, request: Request, state: StateDep) -> JSONResponse:
    await json_object(request)  # ``{}`` from the client; nothing in it is read

    def work(session: Session, user_id: int) -> dict[str, Any]:
        return {"ok": True, "run": service.describe_run(service.replay_run(session, user_id, run_id))}

    return JSONResponse(await _as_owner(request, state, work), status_code=201)
