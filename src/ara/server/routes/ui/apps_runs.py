"""An app's runs on the web: starting one from the app page (an ``operator`` or above, checked as
``POST /v1/apps/{id}/runs`` checks its body: ``run_bodies.async_run``, then ``runs.start_run``), and a run's page
(``/ui/apps/{app_id}/runs/{run_id}``): its status, input, output and log, the log's new lines live over SSE from
the same tail as ``GET /v1/apps/{id}/logs/stream`` (``app_runs.tail_rows``), rendered as table rows that htmx's
SSE extension appends. A member of any role may read; losing the role ends the stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from ara.apps import logs as app_logs
from ara.apps import run_bodies
from ara.apps.access import INVOKER, app_for_member, role_of
from ara.apps.models import App
from ara.apps.runs import describe_run, ended, find_run, start_run
from ara.db.session import unit_of_work
from ara.errors import AraError, InvalidTransition, NotFound, ValidationFailed
from ara.server.deps import StateDep, transaction
from ara.server.event_stream import EventStream
from ara.server.middleware import resolve_page_caller
from ara.server.playbook_events import sse
from ara.server.routes.app_runs import PING, tail_rows
from ara.server.routes.ui.apps import app_context
from ara.server.state import AppState
from ara.server.ui.cookies import SESSION_COOKIE
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import environment, render
from ara.users.models import User

router = APIRouter()
AppId = Annotated[str, Path(max_length=64)]
RunId = Annotated[str, Path(max_length=255)]
#: Log lines a run page shows when it opens; later ones arrive over the stream.
SHOWN_LINES = 1000
#: Row ids fit a signed 64-bit integer: a larger ``after`` (or ``Last-Event-ID``) is a 400, or ignored.
MAX_ROW_ID = 2**63 - 1
#: A log row whose event ends the run: the page then fetches the run's summary again, and the stream ends.
ENDINGS = ("run.completed", "run.failed", "run.cancelled", "run.timed_out")


def run_fields(agent_id: str, text: str) -> dict[str, Any]:
    """The form as ``POST /v1/apps/{id}/runs``' body, checked by the same function."""
    try:
        payload = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ValidationFailed({"input": [f"not JSON: {exc}"]}) from None
    return run_bodies.async_run({"agent_id": agent_id or None, "input": payload})


def _refused(
    request: Request, state: AppState, session: Session, app: App, user_id: int, form: dict[str, str], error: AraError
) -> HTMLResponse:
    """The app page again with the message beside the run form: 400, or 409 for an app that is not active."""
    context = app_context(session, app, role_of(session, app.id, user_id) or "", 1, state.settings.ui.page_size)
    if isinstance(error, ValidationFailed):
        errors = error.detail
    else:
        errors = {"agent_id" if isinstance(error, NotFound) else "run": [error.message]}
    context.update(run_form=form, run_errors=errors)
    return render(request, "apps/app.html", context, status=409 if isinstance(error, InvalidTransition) else 400)


@router.post("/ui/apps/{app_id}/runs", response_model=None)
def start(
    app_id: AppId,
    request: Request,
    state: StateDep,
    user: UserDep,
    agent_id: Annotated[str, Form(max_length=255)] = "",
    input: Annotated[str, Form(max_length=1_000_000)] = "{}",  # noqa: A002 - the API's field name
) -> HTMLResponse | RedirectResponse:
    """Starts a run of the chosen agent and goes to its page; a bad field (or an app that is not active) gives
    the app page again with the message beside the form."""
    with transaction(request, state, write=True) as (session, _identity):
        app = app_for_member(session, app_id, user.user_id, INVOKER)
        try:
            fields = run_fields(agent_id, input)
            with session.begin_nested():  # a refusal leaves nothing behind
                run, _created = start_run(session, state.settings, app, user_id=user.user_id, **fields)
        except (ValidationFailed, NotFound, InvalidTransition) as error:
            return _refused(request, state, session, app, user.user_id, {"agent_id": agent_id, "input": input}, error)
        target = f"/ui/apps/{app.id}/runs/{quote(run.run_id, safe='')}"
    return RedirectResponse(target, status_code=303)


@router.get("/ui/apps/{app_id}/runs/{run_id}", response_class=HTMLResponse)
def run_page(app_id: AppId, run_id: RunId, request: Request, state: StateDep, user: UserDep) -> HTMLResponse:
    with transaction(request, state) as (session, _identity):
        app = app_for_member(session, app_id, user.user_id)
        run = find_run(session, app.id, run_id)
        if run is None:
            raise NotFound(f"app {app.slug!r} has no run {run_id!r}")
        lines = app_logs.rows_after(session, app.id, 0, run_id=run.run_id, limit=SHOWN_LINES)
        context = {
            "section": "apps",
            "app": app,
            "run": describe_run(run),
            "input": json.dumps(run.input, indent=2, default=str),
            "live": not ended(run),
            "lines": [app_logs.row(line) for line in lines],
            "after": lines[-1].id if lines else 0,
            "more": len(lines) == SHOWN_LINES,
        }
        return render(request, "apps/run.html", context)


def _member(state: AppState, app_id: str, user_id: int, authorization: str | None, cookie: str | None) -> bool:
    """Whether the page's reader is still logged in (a logout ends the stream), an active user and a member of
    the app (asked again while streaming)."""
    try:
        caller = resolve_page_caller(state, authorization, cookie)
    except AraError:  # a revoked key on the Authorization header
        return False
    if caller is None or caller.user_id != user_id:
        return False
    with unit_of_work(state.reader) as session:
        user = session.get(User, user_id, populate_existing=True)
        return user is not None and user.is_active and role_of(session, app_id, user_id) is not None


def log_event(row_id: int, row: dict[str, Any]) -> str:
    """A log row as the ``log`` message htmx appends, its id for ``Last-Event-ID``. Each line of the row gets its
    own ``data:`` (``sse``): a CR in a message must not end the field and start a forged one."""
    return sse("log", environment().get_template("apps/_log_line.html").render(line=row), str(row_id))


async def _as_html(
    state: AppState, app_id: str, run_id: str, after: int, still: Callable[[], bool]
) -> AsyncIterator[str]:
    """The tail's rows as ``event: log`` table rows with their id (a reconnecting browser sends the last one as
    ``Last-Event-ID``), and ``event: status`` when a row ends the run, which ends the stream too."""
    macros: Any = environment().get_template("_macros.html").module
    async for row_id, row in tail_rows(state, app_id, run_id, after, still):
        yield log_event(row_id, row)
        if row["event_type"] in ENDINGS:
            status = str(macros.status(row["event_type"].removeprefix("run."))).strip()
            yield f"event: status\ndata: {status}\n\n"
            return


@router.get("/ui/apps/{app_id}/runs/{run_id}/logs/stream", response_class=StreamingResponse, response_model=None)
async def run_log_stream(
    app_id: AppId,
    run_id: RunId,
    request: Request,
    state: StateDep,
    user: UserDep,
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> EventStream | Response:
    """The run's log lines above ``after`` (the last one its page showed), as they commit."""

    def check() -> tuple[str, bool]:
        with transaction(request, state) as (session, _identity):
            app = app_for_member(session, app_id, user.user_id)
            run = find_run(session, app.id, run_id)
            if run is None:
                raise NotFound(f"app {app.slug!r} has no run {run_id!r}")
            return app.id, ended(run)

    found, over = await run_in_threadpool(check)
    if over:  # a browser reconnecting after the end: 204 tells EventSource to stop
        return Response(status_code=204)
    last_seen = request.headers.get("last-event-id", "")
    if last_seen.isdigit() and int(last_seen) <= MAX_ROW_ID:
        after = max(after, int(last_seen))
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    login = (request.headers.get("authorization"), request.cookies.get(SESSION_COOKIE))
    return EventStream(
        _as_html(state, found, run_id, after, partial(_member, state, found, user.user_id, *login)),
        headers=headers,
        keepalive_seconds=state.settings.apps.logs_keepalive_seconds,
        keepalive=PING,
    )
