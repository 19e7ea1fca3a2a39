"""``GET /api/v1/playbooks/{id}/events``: a recorded playbook's live stream (SSE) for any client, behind the records
API's read auth (its path is under ``/api/v1``); ``ara playbook tail`` reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from ara.server.deps import StateDep
from ara.server.event_stream import EventStream
from ara.server.playbook_events import KEEPALIVE_SECONDS, existing_playbook, json_sse, playbook_events, resume_cursor

router = APIRouter(tags=["records"])
FOLLOW_HELP = "false: send what is recorded now and close (`end` only if the playbook has ended), for pollers."
DESCRIPTION = """Server-Sent Events of a recorded playbook: `playbook` (its shape, first and whenever its status
changes), then `host`, `task` and `result` as the callback records them (the list shapes of `/api/v1/hosts`,
`/api/v1/tasks`, `/api/v1/results`; results also carry `task_name` and `host_name`; a task sent while running
comes again, same id, when it ends), and `end` with the playbook's final shape, after which the stream closes.
A playbook that already ended sends what it has, then `end`. Each event's `id` is a cursor: pass it as `after`
to resume after it (a `Last-Event-ID` header, as a reconnecting EventSource sends, wins). Idle streams send an
SSE comment every 10 seconds."""
AFTER_HELP = "Resume after this event id (`host.task.result` ids, e.g. `3.17.120`); default: from the start."


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
    follow: Annotated[bool, Query(description=FOLLOW_HELP)] = True,
    last_event_id: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> EventStream:
    cursor = resume_cursor(after, last_event_id)
    playbook_id = existing_playbook(request, state, key)

    async def stream() -> AsyncIterator[str]:
        async for event in playbook_events(state.reader, playbook_id, cursor, follow=follow):
            yield json_sse(event)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return EventStream(stream(), headers=headers, keepalive_seconds=KEEPALIVE_SECONDS)
