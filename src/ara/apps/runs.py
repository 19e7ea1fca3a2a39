"""Starting an app run, finding it again, waiting for it, and what the API says of it.

A run is a row made due on the engine's ``agents`` queue in the caller's transaction (kind ``app``): it executes on
whichever executor takes it, never in an API handler. ``run_id`` is the caller's id (``input.run_id``), unique per
app; a repeated ``idempotency_key`` (or ``run_id``) finds the first run and starts nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ara.apps import manifest as manifests
from ara.apps import run_endings
from ara.apps.logs import emit
from ara.apps.models import App, AppRun
from ara.apps.webhooks import seal_callback
from ara.crypto import SecretBox
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.errors import InvalidTransition, NotFound, ValidationFailed
from ara.lifecycle.executor import APP, make_due
from ara.lifecycle.states import TERMINAL, UNSUCCESSFUL, RunStatus
from ara.settings import Settings


def new_run_id(now: dt.datetime | None = None) -> str:
    """``run-<UTC %Y%m%dT%H%M%SZ>-<8 hex>``, as ara-sdk makes them."""
    return f"run-{(now or utcnow()).strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


#: The idempotency keys the server makes itself (``schedules.firing_key``, the endpoint gateway, a playbook's
#: ``agent`` action) begin so; a caller's key may not (``run_bodies``), or it could suppress a firing.
RESERVED_KEY_PREFIXES = ("schedule:", "endpoint:", "playbook-action:")
#: The ``run_id`` and ``idempotency_key`` columns' length: longer is a 400, never the database's error.
MAX_KEY = 255


def _fits(field: str, value: str | None) -> None:
    if value is not None and len(value) > MAX_KEY:
        raise ValidationFailed({field: [f"at most {MAX_KEY} characters"]})


def find_run(session: Session, app_id: str, run_id: str) -> AppRun | None:
    return session.scalar(select(AppRun).where(AppRun.app_id == app_id, AppRun.run_id == run_id))


def _earlier(session: Session, app_id: str, idempotency_key: str | None, run_id: str | None) -> AppRun | None:
    if idempotency_key:
        found = session.scalar(select(AppRun).where(AppRun.app_id == app_id, AppRun.idempotency_key == idempotency_key))
        if found is not None:
            return found
    return find_run(session, app_id, run_id) if run_id else None


def _check_runnable(app: App, warmup: bool) -> None:
    """Only an active app runs (every trigger comes through ``start_run``); a draft app may be warmed up
    (``ara deploy --activate false --warm true``), a paused one not even that."""
    if app.status == "active" or (warmup and app.status == "draft"):
        return
    raise InvalidTransition(
        f"app {app.slug!r} is {app.status}: only an active app runs (PATCH /apps/{app.id} with status active)",
        {"status": app.status},
    )


def start_run(
    session: Session,
    settings: Settings,
    app: App,
    *,
    agent_id: str | None,
    input: dict[str, Any],
    trigger: str,
    run_id: str | None = None,
    idempotency_key: str | None = None,
    response_mode: str = "sync",
    callback: dict[str, Any] | None = None,
    key_id: str | None = None,
    user_id: int | None = None,
    warmup: bool = False,
) -> tuple[AppRun, bool]:
    """A new run made due on the engine's ``agents`` queue in this transaction, or (``created`` False) the run
    an earlier call with the same ``idempotency_key`` (or ``run_id``) started. ``agent_id`` None: the default
    agent; an unknown agent is NotFound; an app that is not active is InvalidTransition (409)."""
    _fits("run_id", run_id)
    _fits("idempotency_key", idempotency_key)
    earlier = _earlier(session, app.id, idempotency_key, run_id)
    if earlier is not None:
        return earlier, False
    _check_runnable(app, warmup)
    agent = manifests.find_agent(app.manifest or {}, agent_id)
    run = AppRun(
        app_id=app.id,
        run_id=run_id or new_run_id(),
        agent_id=str(agent["id"]),
        status=RunStatus.SCHEDULED,
        trigger=trigger,
        warmup=warmup,
        input=input,
        idempotency_key=idempotency_key or None,
        response_mode=response_mode,
        callback=seal_callback(SecretBox.from_settings(settings), callback) if callback else None,
        key_id=key_id,
        user_id=user_id,
        scheduled_time=utcnow(),
    )
    try:
        with session.begin_nested():  # a concurrent twin (same key or run id) must not poison the transaction
            session.add(run)
            session.flush()
    except IntegrityError:
        twin = _earlier(session, app.id, idempotency_key, run_id)
        if twin is None:
            raise
        return twin, False
    emit(session, app.id, run.run_id, "run.queued", f"agent {run.agent_id} queued ({trigger})")
    make_due(session, run.id, kind=APP)
    return run, True


def ended(run: AppRun) -> bool:
    return run.status in TERMINAL


def _current(reader: sessionmaker[Session], run_pk: str) -> AppRun:
    with unit_of_work(reader) as session:
        run = session.get(AppRun, run_pk)
        if run is None:
            raise NotFound("run not found")
        session.expunge(run)
        return run


def _pauses() -> Iterator[float]:
    """Between two looks at the database: short at first (a scripted model's run ends in well under a second),
    then every 0.1 s (an ending in another process is seen that late at most)."""
    pause = 0.02
    while True:
        yield pause
        pause = min(pause * 1.5, 0.1)


def wait_for_end(reader: sessionmaker[Session], run_pk: str, timeout: float) -> AppRun:
    """The run once it has ended, or as it is when ``timeout`` seconds have passed (polled: any host's worker may
    end it; an ending committed in this process wakes the wait at once)."""
    deadline = time.monotonic() + timeout
    woken = threading.Event()
    unsubscribe = run_endings.subscribe(run_pk, woken.set)
    try:
        for pause in _pauses():
            run = _current(reader, run_pk)
            if ended(run) or time.monotonic() >= deadline:
                return run
            woken.wait(min(pause, max(deadline - time.monotonic(), 0)))
    finally:
        unsubscribe()
    raise AssertionError("unreachable")


async def await_end(reader: sessionmaker[Session], run_pk: str, timeout: float) -> AppRun:
    """``wait_for_end`` for an async handler (asyncio): each look is a short read on a worker thread, the waits
    are the event loop's, so a hundred waiting callers hold no thread."""
    deadline = time.monotonic() + timeout
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()
    unsubscribe = run_endings.subscribe(run_pk, lambda: loop.call_soon_threadsafe(woken.set))
    try:
        for pause in _pauses():
            run = await anyio.to_thread.run_sync(_current, reader, run_pk)
            if ended(run) or time.monotonic() >= deadline:
                return run
            with anyio.move_on_after(min(pause, max(deadline - time.monotonic(), 0))):
                await woken.wait()
    finally:
        unsubscribe()
    raise AssertionError("unreachable")


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def describe_run(run: AppRun) -> dict[str, Any]:
    """``{ok, run_id, status, agent_id, result: {output_text, tool_calls} | None, error, created_at, ...}``."""
    output = run.output or None
    return {
        "ok": run.status not in UNSUCCESSFUL,
        "run_id": run.run_id,
        "status": run.status,
        "agent_id": run.agent_id,
        "workflow_id": run.agent_id,
        "trigger": run.trigger,
        "warmup": run.warmup,
        "result": (
            {"output_text": output.get("output_text", ""), "tool_calls": output.get("tool_calls", [])}
            if output
            else None
        ),
        "error": run.error,
        "created_at": _stamp(run.created_at),
        "started_at": _stamp(run.start_time),
        "ended_at": _stamp(run.end_time),
    }
