"""Playbook runs, newest first, only of the playbooks the user may read (``playbooks.permissions``). Words match
the definition's name and title, the run's id and who started it; ``host:`` and ``label:`` match the records
playbook each run writes (its target is the host, ``playbook:<name>`` a label)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.playbooks.models import PlaybookDefinition, PlaybookRun
from ara.playbooks.permissions import readable_playbooks
from ara.search.paging import Page, bounded
from ara.search.results import narrowed
from ara.search.syntax import Query
from ara.users.service import Identity


def search_runs(session: Session, query: Query, identity: Identity | None, *, limit: int, offset: int) -> Page:
    run, definition = PlaybookRun, PlaybookDefinition
    statement = (
        select(
            run.id,
            run.status,
            run.created_at,
            run.start_time,
            run.end_time,
            run.created_by,
            run.trigger,
            run.playbook_id,
            definition.name,
            definition.title,
        )
        .join(definition, definition.id == run.playbook_id)
        .order_by(run.created_at.desc(), run.id.desc())
    )
    readable = readable_playbooks(identity)
    if readable is not None:
        statement = statement.where(run.playbook_id.in_(readable))
    names = [definition.name, definition.title, run.id, run.created_by]
    statement = narrowed(statement, query, status=run.status, playbook_id=run.records_playbook_id, names=names)
    rows, total, capped = bounded(session, statement, limit=limit, offset=offset)
    hits = [
        {
            "kind": "run",
            "id": row.id,
            "status": row.status,
            "title": row.title or row.name,
            "definition": row.name,
            "by": row.created_by,
            "trigger": row.trigger,
            "when": row.start_time or row.created_at,
            "duration": (row.end_time - row.start_time).total_seconds() if row.end_time and row.start_time else None,
        }
        for row in rows
    ]
    return Page(hits, total, capped)
