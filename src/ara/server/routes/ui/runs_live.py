"""A run's page, live: ``/ui/runs/{run_id}/events`` (Server-Sent Events) sends each part of the page (status,
controls, approvals, attempts, artifacts), rendered for the person watching, again when it changes (event
``run-<part>``), and ends with event ``done`` once the run is over. htmx's SSE extension swaps each part in; only
changed parts move, so a half-typed rejection comment survives a new attempt. Without JavaScript the page still
reads fine (reload)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from ara.server.deps import StateDep
from ara.server.event_stream import EventStream
from ara.server.middleware import resolve_page_caller
from ara.server.routes.ui.runs_page import render_parts
from ara.server.state import AppState
from ara.server.ui.cookies import SESSION_COOKIE
from ara.server.ui.guards import UserDep

router = APIRouter()
#: How often the stream looks at the run (any executor's changes: the database is the truth).
POLL_SECONDS = 0.5
#: How often it checks that the login it started with still holds (a logout ends the stream).
RECHECK_SECONDS = 5.0


def sse(event: str, data: str) -> str:
    """One SSE message; every line of ``data`` gets its own ``data:`` prefix (the reader joins them)."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


def _still_logged_in(request: Request, state: AppState) -> bool:
    cookie = request.cookies.get(SESSION_COOKIE)
    return resolve_page_caller(state, request.headers.get("authorization"), cookie) is not None


async def _changes(
    request: Request, state: AppState, run_id: str, parts: dict[str, str], over: bool
) -> AsyncIterator[str]:
    """Every part first (the page may be older than this connection), then only the parts that changed; ``done``
    once the run is over or the login that opened the stream has ended."""
    sent: dict[str, str] = {}
    checked = time.monotonic()
    while True:
        for part, html in parts.items():
            if sent.get(part) != html:
                yield sse(f"run-{part}", html)
                sent[part] = html
        if over:
            yield sse("done", "over")
            return
        await anyio.sleep(POLL_SECONDS)
        if time.monotonic() - checked >= RECHECK_SECONDS:
            if not await run_in_threadpool(_still_logged_in, request, state):
                yield sse("done", "logged out")
                return
            checked = time.monotonic()
        parts, over = await run_in_threadpool(render_parts, request, state, run_id)


@router.get("/ui/runs/{run_id}/events", response_class=StreamingResponse)
async def run_events(run_id: str, request: Request, state: StateDep, user: UserDep) -> EventStream:
    parts, over = await run_in_threadpool(render_parts, request, state, run_id)  # 404/403 before streaming
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return EventStream(_changes(request, state, run_id, parts, over), headers=headers)
