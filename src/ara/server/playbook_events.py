"""One live stream of a recorded playbook, for every reader: the API's ``/api/v1/playbooks/{id}/events`` (SSE of
JSON, which ``ara playbook tail`` reads) and the playbook page's ``/ui/records/playbooks/{id}/live`` (SSE of HTML
rows). It polls the database with a short read transaction every ``interval`` seconds (the callback may write
through another process or server, so there is nothing to subscribe to), holds one batch at a time, and ends
once the playbook is no longer running and everything before its end was sent."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import unit_of_work
from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records.live import Changes, Cursor, changes_since, running_tasks
from ara.records.service import get_or_404, parse_id
from ara.records.status import TaskStatus
from ara.server.deps import transaction
from ara.server.state import AppState

INTERVAL = 0.5
KEEPALIVE_SECONDS = 10.0  # an idle stream's comment: well inside clients' read timeouts (tail: 60 s)
RECHECK_SECONDS = 5.0  # how often a stream asks ``admits`` whether its reader may still read
MAX_RUNNING = 1000  # running tasks followed for their end (a free strategy on many hosts runs several)


@dataclass(frozen=True)
class Event:
    """``kind``: ``playbook`` (its status, first and whenever it changes), ``host``, ``task`` (again when a task
    sent as running ends), ``result`` or ``end`` (the playbook's final shape: the stream closes after it)."""

    kind: str
    data: dict[str, Any]
    cursor: Cursor
    update: bool = False  # a task sent before, again because it ended


def _read(factory: sessionmaker[Session], playbook_id: int, cursor: Cursor, running: set[int]) -> Changes:
    with unit_of_work(factory) as session:
        return changes_since(session, playbook_id, cursor, running)


def _running(factory: sessionmaker[Session], playbook_id: int, cursor: Cursor) -> set[int]:
    with unit_of_work(factory) as session:
        return running_tasks(session, playbook_id, cursor.task, MAX_RUNNING)


async def playbook_events(
    factory: sessionmaker[Session],
    playbook_id: int,
    cursor: Cursor,
    *,
    interval: float = INTERVAL,
    follow: bool = True,
    admits: Callable[[], bool] | None = None,
) -> AsyncIterator[Event]:
    """Events after ``cursor`` until the playbook ends (at once for one that already has); without ``follow``,
    only what is recorded now (a poller's read: ``end`` only if the playbook has ended). ``admits`` (a read, on a
    worker thread) is asked every ``RECHECK_SECONDS`` whether the reader may still read: no ends the stream (a
    killed ``ansible-playbook`` leaves its playbook running for ever, so a logout must end it)."""
    status = None
    checked = time.monotonic()
    # Tasks shown running (before the cursor, or sent since), to send again when they end; bounded.
    running = await anyio.to_thread.run_sync(_running, factory, playbook_id, cursor) if cursor.task else set()
    while True:
        changes = await anyio.to_thread.run_sync(_read, factory, playbook_id, cursor, set(running))
        if changes.playbook["status"] != status:
            status = changes.playbook["status"]
            yield Event("playbook", changes.playbook, cursor)
        for task in changes.finished_tasks:
            running.discard(task["id"])
            yield Event("task", task, changes.cursor, update=True)
        for kind, rows in (("host", changes.hosts), ("task", changes.tasks), ("result", changes.results)):
            for row in rows:
                if kind == "task" and row["status"] == TaskStatus.RUNNING and len(running) < MAX_RUNNING:
                    running.add(row["id"])
                yield Event(kind, row, changes.cursor)
        cursor = changes.cursor
        if changes.full:
            continue
        if not changes.running:
            yield Event("end", changes.playbook, cursor)
            return
        if not follow:
            return
        await anyio.sleep(interval)
        if admits is not None and time.monotonic() - checked >= RECHECK_SECONDS:
            if not await anyio.to_thread.run_sync(admits):
                return
            checked = time.monotonic()


def sse(event: str, data: str, event_id: str | None = None) -> str:
    """One SSE message; every line of ``data`` gets its own ``data:`` prefix (HTML rows span lines)."""
    head = f"id: {event_id}\n" if event_id else ""
    body = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"{head}event: {event}\n{body}\n"


def json_sse(event: Event) -> str:
    return sse(event.kind, json.dumps(event.data, ensure_ascii=False, separators=(",", ":")), event.cursor.token())


def resume_cursor(after: str | None, last_event_id: str | None) -> Cursor:
    """Where a stream starts: ``Last-Event-ID`` (an EventSource reconnecting to the same URL, whose ``after`` is
    older), else ``after``, else the start."""
    for name, raw in (("Last-Event-ID", last_event_id), ("after", after)):
        if raw is None or raw == "":
            continue
        cursor = Cursor.parse(raw)
        if cursor is None:
            raise ValidationFailed({name: ["Enter an event id such as 3.17.120 (host, task and result ids)."]})
        return cursor
    return Cursor()


def existing_playbook(request: Request, state: AppState, key: str) -> int:
    """The playbook's id, or the records API's 404, before the stream starts (afterwards only events can tell)."""
    with transaction(request, state) as (session, _):
        return int(get_or_404(session, m.Playbook, parse_id(key)).id)
