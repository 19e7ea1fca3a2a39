"""``GET /api/v1/playbooks/{id}/events``: a recorded playbook's live stream (SSE) for any client, behind the records
API's read auth (its path is under ``/api/v1``); ``ara playbook tail`` reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records.live import Cursor
from ara.records.service import get_or_404, parse_id
from ara.server.deps import StateDep, transaction
from ara.server.event_stream import EventStream
from ara.server.playbook_events import json_sse, playbook_events

router = APIRouter(tags=["records"])
KEEPALIVE_SECONDS = 10.0
DESCRIPTION = """Server-Sent Events of a recorded playbook: `playbook` (its shape, first and whenever its status
changes), then `host`, `task` and `result` as the callback records them (the list shapes of `/api/v1/hosts`,
`/api/v1/tasks`, `/api/v1/results`; results also carry `task_name` and `host_name`; a task sent while running
comes again, same id, when it ends), and `end` with the
playbook's final shape, after which the stream closes. A playbook that already ended sends what it has, then
`end`. Each event's `id` is a cursor: pass it as `after` (or `Last-Event-ID`) to resume after it. Idle streams
send an SSE comment every 10 seconds."""
AFTER_HELP = "Resume after this event id (`host.task.result` ids, e.g. `3.17.120`); default: from the start."


def resume_cursor(after: str | None, last_event_id: str | None) -> Cursor:
    """Where a stream starts: ``after``, else ``Last-Event-ID`` (a reconnecting EventSource), else the start."""
    raw = after if after is not None else last_event_id
    if raw is None or raw == "":
        return Cursor()
    cursor = Cursor.parse(raw)
    if cursor is None:
        name = "after" if after is not None else "Last-Event-ID"
        raise ValidationFailed({name: ["Enter an event id such as 3.17.120 (host, task and result ids)."]})
    return cursor


def existing_playbook(request: Request, state: StateDep, key: str) -> int:
    """The playbook's id, or the records API's 404, before the stream starts (afterwards only events can tell)."""
    with transaction(request, state) as (session, _):
        return int(get_or_404(session, m.Playbook, parse_id(key)).id)


@router.get(
    "/api/v1/playbooks/{key}/events",
    name="playbook_events",
    summary="Follow a playbook live",
    description=DESCRIPTION,
    response_model=None,
    responses={200: {"description": "An event stream", "content": {"text/event-stream": {}}}},
)
def read_playbook_events(
    key: str,
    request: Request,
    state: StateDep,
    after: Annotated[str | None, Query(description=AFTER_HELP)] = None,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> EventStream:
    cursor = resume_cursor(after, last_event_id)
    playbook_id = existing_playbook(request, state, key)

    async def stream() -> AsyncIterator[str]:
        async for event in playbook_events(state.reader, playbook_id, cursor):
            yield json_sse(event)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return EventStream(stream(), headers=headers, keepalive_seconds=KEEPALIVE_SECONDS)
