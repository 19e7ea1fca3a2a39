"""``/ui/records/playbooks/{id}/live``: the playbook page's live rows. The same event stream as the API's
``/api/v1/playbooks/{id}/events`` (``ara.server.playbook_events``), each event rendered as the HTML row the page
would have drawn, for htmx's SSE extension to insert; ``close`` tells the page to stop listening."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request

from ara.errors import AraError
from ara.server.deps import StateDep
from ara.server.event_stream import EventStream
from ara.server.middleware import resolve_page_caller
from ara.server.playbook_events import (
    KEEPALIVE_SECONDS,
    Event,
    existing_playbook,
    playbook_events,
    resume_cursor,
    sse,
)
from ara.server.state import AppState
from ara.server.ui.cookies import SESSION_COOKIE
from ara.server.ui.guards import RecordsReaderDep
from ara.server.ui.pages import environment

router = APIRouter()
ROW_MACROS = {"playbook": "status_badge", "task": "task_row", "result": "result_row", "end": "finished"}


def rendered(event: Event, macros: Any) -> str:
    """An event as the SSE message htmx swaps in (hosts are not shown live: their stats come at the end)."""
    if event.update:  # replaces the task's row (out of band), wherever the page shows it
        return sse("taskended", str(macros.task_row(event.data, oob=True)), event.cursor.token())
    return sse(event.kind, str(getattr(macros, ROW_MACROS[event.kind])(event.data)), event.cursor.token())


def _still_reader(state: AppState, request: Request) -> bool:
    """Where records need a login: whether the login that opened the stream still holds (a logout ends it)."""
    try:
        cookie = request.cookies.get(SESSION_COOKIE)
        return resolve_page_caller(state, request.headers.get("authorization"), cookie) is not None
    except AraError:  # a key revoked since
        return False


@router.get("/ui/records/playbooks/{key}/live")
def playbook_live(
    key: str,
    request: Request,
    state: StateDep,
    _reader: RecordsReaderDep,
    after: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventStream:
    cursor = resume_cursor(after, last_event_id)
    playbook_id = existing_playbook(request, state, key)
    macros = environment().get_template("records/_rows.html").make_module({})

    admits = partial(_still_reader, state, request) if state.settings.auth.read_login_required else None

    async def stream() -> AsyncIterator[str]:
        async for event in playbook_events(state.reader, playbook_id, cursor, admits=admits):
            if event.kind in ROW_MACROS:
                yield rendered(event, macros)
        yield sse("close", "")

    return EventStream(stream(), headers={"Cache-Control": "no-store"}, keepalive_seconds=KEEPALIVE_SECONDS)
