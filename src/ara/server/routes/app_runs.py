"""The invoke routes (``/v1/apps/{id}/...``; an app key, not a user's: ``apps.access.invoke_caller``): a sync run,
an async run (poll or webhook), a run's status, events, and the live log stream. A run executes on the engine's
``agents`` queue, never here: the sync route only waits for its end, polling, without holding the event loop."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from ara.apps import logs as app_logs
from ara.apps import run_bodies
from ara.apps.access import Caller, invoke_caller, still_admits
from ara.apps.models import App, AppRun
from ara.apps.run_schemas import AsyncRunAnswer, AsyncRunBody, EventBody, RunAnswer, SyncRunBody
from ara.apps.runs import await_end, describe_run, find_run, start_run
from ara.db.session import unit_of_work
from ara.errors import NotFound
from ara.server.deps import OwnRoute, StateDep
from ara.server.event_stream import EventStream
from ara.server.openapi import error_response_doc, request_body
from ara.server.routes.bodies import json_object
from ara.server.state import AppState

router = APIRouter(prefix="/v1/apps", tags=["app runs"], route_class=OwnRoute)
AppId = Annotated[str, Path(max_length=64)]
RunId = Annotated[str, Path(max_length=255)]
PING = b": ping\n\n"
#: How often a log stream looks for new rows (any host's: the table is the truth).
POLL_SECONDS = 0.25
#: A row whose id is below one already sent may still commit this long after (PostgreSQL hands out ids before
#: commit): streams look back this far so it is not lost.
LOOKBACK_SECONDS = 5.0
#: Every invoke route spends one of the key's requests this minute.
LIMITED: dict[int | str, dict[str, Any]] = {429: error_response_doc("The key spent its requests for this minute.")}
REPEATED: dict[int | str, dict[str, Any]] = {
    200: {"model": AsyncRunAnswer, "description": "a repeated key: the first run, nothing started"},
    **LIMITED,
}
STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `data: {timestamp, level, run_id, event_type, message}`, `: ping`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **LIMITED,
}


def _as_caller(request: Request, state: AppState, app_id: str, work: Callable[[Session, App, Caller], Any]) -> Any:
    """``work(session, app, caller)`` in one write transaction, once the app key is checked (and spent)."""
    with unit_of_work(state.writer) as session:
        caller = invoke_caller(
            session,
            app_id,
            authorization=request.headers.get("authorization"),
            app_key=request.headers.get("x-ara-app-key"),
        )
        app = session.get(App, app_id)
        if app is None:
            raise NotFound("app not found")
        return work(session, app, caller)


def _started(
    state: AppState, fields: Callable[[], dict[str, Any]]
) -> Callable[[Session, App, Caller], tuple[str, bool]]:
    """Start a run from ``fields()`` (the body checked once the key is: a stranger learns nothing from a 400)."""

    def work(session: Session, app: App, caller: Caller) -> tuple[str, bool]:
        run, created = start_run(session, state.settings, app, key_id=caller.key_id, user_id=caller.user_id, **fields())
        return run.id, created

    return work


def _read(state: AppState, run_pk: str) -> dict[str, Any]:
    with unit_of_work(state.reader) as session:
        run = session.get(AppRun, run_pk)
        if run is None:
            raise NotFound("run not found")
        return describe_run(run)


def _accepted(described: dict[str, Any], created: bool) -> JSONResponse:
    run = {"run_id": described["run_id"], "status": described["status"]}
    return JSONResponse({**described, "run": run, "deduplicated": not created}, status_code=202 if created else 200)


@router.post("/{app_id}/run", response_model=RunAnswer, responses=LIMITED, openapi_extra=request_body(SyncRunBody))
async def run_sync(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    """Starts a run and answers when it ends (or after ``apps.sync_run_timeout_seconds``, still going); a warm-up
    (``warmup: true``) is answered at once with its ``run_id``."""
    body = await json_object(request)
    fields = partial(run_bodies.sync_run, body)
    run_pk, _created = await run_in_threadpool(_as_caller, request, state, app_id, _started(state, fields))
    if not fields()["warmup"]:
        await await_end(state.reader, run_pk, state.settings.apps.sync_run_timeout_seconds)
    return JSONResponse(await run_in_threadpool(_read, state, run_pk))


@router.post(
    "/{app_id}/runs",
    status_code=202,
    response_model=AsyncRunAnswer,
    responses=REPEATED,
    openapi_extra=request_body(AsyncRunBody),
)
async def run_async(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    """Starts a run and answers at once (202; 200 with the first run for a repeated ``idempotency_key``)."""
    allow_private = state.settings.apps.webhook_allow_private
    fields = partial(run_bodies.async_run, await json_object(request), allow_private=allow_private)
    run_pk, created = await run_in_threadpool(_as_caller, request, state, app_id, _started(state, fields))
    return _accepted(await run_in_threadpool(_read, state, run_pk), created)


@router.get("/{app_id}/runs/{run_id}", response_model=RunAnswer, responses=LIMITED)
async def run_status(app_id: AppId, run_id: RunId, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, app: App, _caller: Caller) -> dict[str, Any]:
        run = find_run(session, app.id, run_id)
        if run is None:
            raise NotFound(f"app has no run {run_id!r}")
        return describe_run(run)

    return JSONResponse(await run_in_threadpool(_as_caller, request, state, app_id, work))


@router.post(
    "/{app_id}/events",
    status_code=202,
    response_model=AsyncRunAnswer,
    responses=REPEATED,
    openapi_extra=request_body(EventBody),
)
async def post_event(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    """An event becomes a run (trigger ``event``); the same ``X-Idempotency-Key`` again answers the first run
    (200) and starts nothing."""
    fields = partial(run_bodies.event_run, await json_object(request), request.headers.get("x-idempotency-key"))
    run_pk, created = await run_in_threadpool(_as_caller, request, state, app_id, _started(state, fields))
    return _accepted(await run_in_threadpool(_read, state, run_pk), created)


@router.get("/{app_id}/logs/stream", response_class=StreamingResponse, responses=STREAM)
async def stream_logs(
    app_id: AppId,
    request: Request,
    state: StateDep,
    run_id: Annotated[str | None, Query(max_length=255)] = None,
) -> EventStream:
    """Server-Sent Events: the rows of the last ``apps.logs_replay_seconds``, then each new row as it commits
    (``data: {timestamp, level, run_id, event_type, message}``), a ``: ping`` comment when idle."""
    apps = state.settings.apps

    def start(session: Session, app: App, caller: Caller) -> tuple[int, Caller]:
        return app_logs.last_id_before(session, app.id, app_logs.since(None, apps.logs_replay_seconds)), caller

    after, caller = await run_in_threadpool(_as_caller, request, state, app_id, start)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventStream(
        tail_logs(state, app_id, run_id, after, partial(_admits, state, caller)),
        headers=headers,
        keepalive_seconds=apps.logs_keepalive_seconds,
        keepalive=PING,
    )


def _rows(state: AppState, app_id: str, run_id: str | None, after: int) -> list[tuple[int, dict[str, Any]]]:
    with unit_of_work(state.reader) as session:
        return [(line.id, app_logs.row(line)) for line in app_logs.rows_after(session, app_id, after, run_id=run_id)]


def _admits(state: AppState, caller: Caller) -> bool:
    with unit_of_work(state.reader) as session:
        return still_admits(session, caller)


async def tail_logs(
    state: AppState, app_id: str, run_id: str | None, after: int, admits: Callable[[], bool]
) -> AsyncIterator[str]:
    """``tail_rows`` as the stream's ``data:`` events."""
    async for _row_id, row in tail_rows(state, app_id, run_id, after, admits):
        yield f"data: {json.dumps(row)}\n\n"


async def tail_rows(
    state: AppState, app_id: str, run_id: str | None, after: int, admits: Callable[[], bool]
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """``(id, row)`` for rows above ``after`` as they commit, each once. A row is looked for again for
    ``LOOKBACK_SECONDS`` after a later one was sent (ids are handed out before commit), then the floor moves past
    it. Every ``apps.logs_recheck_seconds`` ``admits()`` (a read, on a worker thread) asks whether the caller may
    still read: a deactivated key (or, for a web page, a lost role) ends the stream. The web UI's run page reads
    these rows too (``ara.server.routes.ui.apps_runs``)."""
    sent: dict[int, float] = {}  # id -> when sent
    floor = after
    recheck = state.settings.apps.logs_recheck_seconds
    checked = time.monotonic()
    while True:
        if time.monotonic() - checked >= recheck:
            if not await run_in_threadpool(admits):
                return
            checked = time.monotonic()
        for row_id, row in await run_in_threadpool(_rows, state, app_id, run_id, floor):
            if row_id not in sent:
                sent[row_id] = time.monotonic()
                yield row_id, row
        settled = time.monotonic() - LOOKBACK_SECONDS
        for row_id in [row_id for row_id, at in sent.items() if at < settled]:
            floor = max(floor, row_id)
            del sent[row_id]
        await anyio.sleep(POLL_SECONDS)
