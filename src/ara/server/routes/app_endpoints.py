"""The endpoint gateway ``/v1/apps/{app_id}/endpoints/{label}``: an app's ``@fastapi_endpoint`` agents, called by
anyone the endpoint's own authentication admits (no user or app key: the auth middleware lets these paths
through). The request becomes a run of the endpoint's agent, waited for like ``POST /v1/apps/{id}/run``; the answer
is that run as ``GET /v1/apps/{id}/runs/{run_id}`` describes it (its ``result.output_text`` is the agent's text)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ara.apps import endpoints
from ara.apps.models import App
from ara.apps.run_schemas import RunAnswer
from ara.apps.runs import await_end, describe_run, start_run
from ara.apps.secrets_store import endpoint_secret
from ara.db.session import unit_of_work
from ara.errors import BodyNotJson, MethodNotAllowed, NotFound, ValidationFailed
from ara.lifecycle.states import TERMINAL
from ara.server.deps import StateDep
from ara.server.errors import error_response
from ara.server.openapi import error_response_doc, request_body
from ara.server.routes.bodies import check_bounded, parse_json
from ara.server.state import AppState

router = APIRouter(tags=["apps"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
#: The query parameters stand for the body on these methods when no body is sent.
QUERY_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")
AppId = Annotated[str, Path(max_length=64)]
Label = Annotated[str, Path(max_length=255)]
#: The request header an external caller may set so that a resend starts no second run, and its longest value.
IDEMPOTENCY_HEADER = "x-idempotency-key"
MAX_KEY = 128


def body_of(raw: bytes, query: dict[str, str], method: str) -> dict[str, Any]:
    """The caller's JSON object (``{}`` when empty; the query parameters for a body-less ``GET``); anything but
    a JSON object is a 400 naming ``body``."""
    if not raw.strip():
        return query if method in QUERY_METHODS else {}
    try:
        value = parse_json(raw)
    except BodyNotJson as exc:
        raise ValidationFailed({"body": [f"invalid JSON: {exc.reason}"]}) from None
    if not isinstance(value, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    check_bounded(value)
    return value


def _admitted(state: AppState, request: Request, app_id: str, label: str, raw: bytes) -> endpoints.Endpoint:
    """The endpoint, once the method and the caller's authentication are right (one read transaction)."""
    with unit_of_work(state.reader) as session:
        app = session.get(App, app_id)
        if app is None:
            raise NotFound(f"no app {app_id!r}")
        endpoint = endpoints.find_endpoint(app.manifest or {}, label)
        endpoints.check_method(endpoint, request.method)
        secret = None
        if endpoints.needs_secret(endpoint):
            secret = endpoint_secret(session, state.engine_context.box, app_id, endpoint.label)
    skew = state.settings.apps.endpoint_skew_seconds
    endpoints.check_auth(endpoint, secret, request.headers, raw, now=time.time(), skew=skew)
    return endpoint


def _start(state: AppState, request: Request, app_id: str, label: str, raw: bytes) -> str:
    """The new (or, for a repeated ``X-Idempotency-Key``, the first) run's primary key."""
    endpoint = _admitted(state, request, app_id, label, raw)
    body = body_of(raw, dict(request.query_params), request.method)
    given_key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(given_key) > MAX_KEY:
        raise ValidationFailed({"X-Idempotency-Key": [f"at most {MAX_KEY} characters"]})
    with unit_of_work(state.writer) as session:
        app = session.get(App, app_id)
        if app is None:  # deleted since the check
            raise NotFound(f"no app {app_id!r}")
        run, _created = start_run(
            session,
            state.settings,
            app,
            agent_id=endpoint.agent_id,
            input=endpoints.run_input(body),
            trigger="endpoint",
            idempotency_key=f"endpoint:{endpoint.label}:{given_key}" if given_key else None,
        )
        return run.id


async def call_endpoint(request: Request, state: StateDep, app_id: AppId, label: Label) -> JSONResponse:
    """Run the endpoint's agent on the request's JSON body and answer with the run."""
    raw = await request.body()
    try:
        run_pk = await run_in_threadpool(_start, state, request, app_id, label, raw)
    except MethodNotAllowed as exc:
        response = error_response(request, exc)
        response.headers["Allow"] = ", ".join(exc.detail["allowed"])
        return response
    except endpoints.Refused as exc:
        response = error_response(request, exc)
        response.headers["WWW-Authenticate"] = exc.challenge
        return response
    run = await await_end(state.reader, run_pk, state.settings.apps.sync_run_timeout_seconds)  # no thread held
    return JSONResponse(describe_run(run), status_code=200 if run.status in TERMINAL else 202)


for _method in METHODS:  # one operation per method: each gets its own OpenAPI id, bodies only where they belong
    router.add_api_route(
        "/v1/apps/{app_id}/endpoints/{label}",
        call_endpoint,
        methods=[_method],
        response_model=RunAnswer,
        openapi_extra=request_body(schema={"type": "object"}, required=False)
        if _method in ("POST", "PUT", "PATCH")
        else None,
        responses={
            202: {"description": "The run had not ended when the wait ran out; poll GET /v1/apps/{id}/runs/{run_id}."},
            405: error_response_doc("The endpoint answers another method (the Allow header names it)."),
        },
    )
