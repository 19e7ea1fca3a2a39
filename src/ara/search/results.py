"""Recorded results (Ansible's, playbook runs' and agents' tool calls alike): the failed ones unless ``status:``
says otherwise. Open to whoever may read the records API. Newest first, walking ``ix_results_status_id``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records.status import shown_status
from ara.search.paging import Page, any_contains, bounded, contains
from ara.search.syntax import Query

#: What "failed results" means when no status is asked for: failures not ignored, and unreachable hosts.
DEFAULT = ("failed", "unreachable")


def status_condition(status: str) -> ColumnElement[bool]:
    """A shown status (``changed``, ``ignored`` are derived, see ``records.status.shown_status``) as stored columns."""
    r = m.Result
    if status == "changed":
        return (r.status == "ok") & (r.changed == true())
    if status == "ok":
        return (r.status == "ok") & (r.changed == false())
    if status == "ignored":
        return (r.status == "failed") & (r.ignore_errors == true())
    if status == "failed":
        return (r.status == "failed") & (r.ignore_errors == false())
    return r.status == status


def labelled(label: str) -> Any:
    """Ids of the playbooks carrying ``label`` (exact, case-insensitive, as the records API's ``label`` filter)."""
    return (
        select(m.playbooks_labels.c.playbook_id)
        .join(m.Label, m.Label.id == m.playbooks_labels.c.label_id)
        .where(func.lower(m.Label.name) == label.lower())
    )


def with_host(name: str) -> Any:
    """Ids of the playbooks with a host whose name contains ``name``."""
    return select(m.Host.playbook_id).where(contains(m.Host.name, name))


def narrowed(statement: Any, query: Query, *, status: Any, playbook_id: Any, names: list[Any]) -> Any:
    """A search over playbooks or runs narrowed by the query: ``status:`` on ``status``, ``host:`` and ``label:``
    on the records playbook ``playbook_id`` points at, and every free word in one of ``names``."""
    if query.status:
        statement = statement.where(status == query.status)
    if query.host:
        statement = statement.where(playbook_id.in_(with_host(query.host)))
    if query.label:
        statement = statement.where(playbook_id.in_(labelled(query.label)))
    return statement.where(*any_contains(names, query.words))


def search_results(session: Session, query: Query, *, limit: int, offset: int) -> Page:
    r, task, host, playbook = m.Result, m.Task, m.Host, m.Playbook
    statuses = (query.status,) if query.status else DEFAULT
    statement = (
        select(
            r.id,
            r.status,
            r.changed,
            r.ignore_errors,
            r.started,
            r.duration,
            task.name.label("task"),
            task.action,
            host.name.label("host"),
            playbook.id.label("playbook_id"),
            playbook.name.label("playbook"),
            playbook.path,
        )
        .join(task, task.id == r.task_id)
        .join(host, host.id == r.host_id)
        .join(playbook, playbook.id == r.playbook_id)
        .where(or_(*(status_condition(status) for status in statuses)))
        .order_by(r.id.desc())
    )
    if query.host:
        statement = statement.where(contains(host.name, query.host))
    if query.label:
        statement = statement.where(r.playbook_id.in_(labelled(query.label)))
    statement = statement.where(
        *any_contains([task.name, task.action, host.name, playbook.name, playbook.path], query.words)
    )
    rows, total, capped = bounded(session, statement, limit=limit, offset=offset)
    hits = [
        {
            "kind": "result",
            "id": row.id,
            "status": shown_status(row.status, row.changed, row.ignore_errors),
            "title": row.task or row.action,
            "host": row.host,
            "playbook_id": row.playbook_id,
            "playbook": row.playbook or row.path,
            "when": row.started,
            "duration": row.duration,
        }
        for row in rows
    ]
    return Page(hits, total, capped)
