"""Recorded playbooks (``ansible-playbook`` runs), newest first, open as the records are. Playbook runs and app
runs record playbooks too (paths ``playbook-run://…``, ``app://…``): they have groups of their own, so they are
left out here. Words match the name, path, controller and user."""

from __future__ import annotations

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.search.paging import Page, bounded, contains
from ara.search.results import narrowed
from ara.search.syntax import Query

#: Paths of the playbooks Ara records for its own runs (``playbooks.recording``, ``apps.recording``, the runtime).
ARA_OWN = "://"


def search_playbooks(session: Session, query: Query, *, limit: int, offset: int) -> Page:
    p = m.Playbook
    statement = (
        select(p.id, p.name, p.path, p.status, p.started, p.duration, p.controller, p.user)
        .where(not_(contains(p.path, ARA_OWN)))
        .order_by(p.id.desc())
    )
    names = [p.name, p.path, p.controller, p.user]
    statement = narrowed(statement, query, status=p.status, playbook_id=p.id, names=names)
    rows, total, capped = bounded(session, statement, limit=limit, offset=offset)
    hits = [
        {
            "kind": "playbook",
            "id": row.id,
            "status": row.status,
            "title": row.name or row.path,
            "path": row.path,
            "controller": row.controller,
            "user": row.user,
            "when": row.started,
            "duration": row.duration,
        }
        for row in rows
    ]
    return Page(hits, total, capped)
