"""What changed in a playbook since a cursor: new hosts, tasks and results (in the API's list shapes) and its
status, read in one short transaction. ``ara.server.playbook_events`` polls this for every live reader (the API's
event stream, the playbook page, ``ara playbook tail``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from ara.errors import NotFound
from ara.records import models as m
from ara.records import representation as rep
from ara.records.resources import RESOURCES
from ara.records.service import NOT_FOUND
from ara.records.status import PlaybookStatus, TaskStatus

BATCH = 200  # rows of each kind per read: a reader that starts late catches up in steps, memory stays bounded


@dataclass(frozen=True)
class Cursor:
    """The last host, task and result sent (ids grow): ``"12.40.310"`` as an SSE event id."""

    host: int = 0
    task: int = 0
    result: int = 0

    def token(self) -> str:
        return f"{self.host}.{self.task}.{self.result}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """A token from ``token`` (e.g. a ``Last-Event-ID``), or None when it is not one."""
        parts = (text or "").strip().split(".")
        if len(parts) != 3 or not all(p.isdigit() and len(p) < 19 for p in parts):
            return None
        return cls(*(int(p) for p in parts))


@dataclass
class Changes:
    playbook: dict[str, Any]
    hosts: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    finished_tasks: list[dict[str, Any]] = field(default_factory=list)  # sent as running, now ended
    cursor: Cursor = field(default_factory=Cursor)
    full: bool = False  # a batch was full: more is waiting, read again at once

    @property
    def running(self) -> bool:
        return bool(self.playbook["status"] == PlaybookStatus.RUNNING)


def current_cursor(session: Session, playbook_id: int) -> Cursor:
    """The cursor after everything recorded so far (a page that shows it all streams only what comes next)."""
    last = [
        session.scalar(select(model.id).where(model.playbook_id == playbook_id).order_by(model.id.desc()).limit(1))
        for model in (m.Host, m.Task, m.Result)
    ]
    return Cursor(*(value or 0 for value in last))


def running_tasks(session: Session, playbook_id: int, up_to: int, limit: int) -> set[int]:
    """Tasks up to the cursor still running: a reader that starts there was shown them running."""
    query = select(m.Task.id).where(
        m.Task.playbook_id == playbook_id, m.Task.id <= up_to, m.Task.status == TaskStatus.RUNNING
    )
    return set(session.scalars(query.order_by(m.Task.id.desc()).limit(limit)))


def changes_since(session: Session, playbook_id: int, cursor: Cursor, running: Collection[int] = ()) -> Changes:
    """Rows after ``cursor``, parents first: a result comes only once its host and task were sent; and those of
    the ``running`` tasks (sent earlier, still running then) that have ended since."""
    playbook = session.get(m.Playbook, playbook_id)
    if playbook is None:
        raise NotFound(NOT_FOUND)
    hosts = list(
        session.scalars(
            select(m.Host)
            .where(m.Host.playbook_id == playbook_id, m.Host.id > cursor.host)
            .options(defer(m.Host.facts))
            .order_by(m.Host.id)
            .limit(BATCH)
        )
    )
    tasks = list(
        session.scalars(
            select(m.Task)
            .where(m.Task.playbook_id == playbook_id, m.Task.id > cursor.task)
            .order_by(m.Task.id)
            .limit(BATCH)
        )
    )
    host_cursor = hosts[-1].id if hosts else cursor.host
    task_cursor = tasks[-1].id if tasks else cursor.task
    candidates = session.scalars(
        select(m.Result)
        .where(m.Result.playbook_id == playbook_id, m.Result.id > cursor.result)
        .options(defer(m.Result.content))
        .order_by(m.Result.id)
        .limit(BATCH)
    ).all()
    results = []
    for result in candidates:
        if result.task_id > task_cursor or result.host_id > host_cursor:
            break  # its parent is in the next batch
        results.append(result)
    ended = []
    if running:
        query = select(m.Task).where(m.Task.id.in_(list(running)), m.Task.status != TaskStatus.RUNNING)
        ended = list(session.scalars(query.order_by(m.Task.id)))
    return Changes(
        finished_tasks=RESOURCES["tasks"].list_items(session, ended),
        playbook=rep.playbook(playbook, timestamps=False),
        hosts=[rep.host(h, facts=False) for h in hosts],
        tasks=RESOURCES["tasks"].list_items(session, tasks),
        results=with_names(session, RESOURCES["results"].list_items(session, results)),
        cursor=Cursor(host_cursor, task_cursor, results[-1].id if results else cursor.result),
        full=BATCH in (len(hosts), len(tasks), len(candidates)),
    )


def with_names(session: Session, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results with their task's and host's names (one query each), so a reader that joined late can print them."""
    if not results:
        return results
    task_ids = {r["task"] for r in results}
    host_ids = {r["host"] for r in results}
    tasks = dict(session.execute(select(m.Task.id, m.Task.name).where(m.Task.id.in_(task_ids))).all())
    hosts = dict(session.execute(select(m.Host.id, m.Host.name).where(m.Host.id.in_(host_ids))).all())
    return [r | {"task_name": tasks.get(r["task"]), "host_name": hosts.get(r["host"])} for r in results]
