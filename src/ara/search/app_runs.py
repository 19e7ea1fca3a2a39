"""App (agent) runs, newest first, only of apps the user holds a role on (``apps.access``: an app that is not
yours does not exist for you). Words match the app's name and slug, the agent and the run's id; ``host:`` and
``label:`` match the records playbook each run writes (labels ``app:<slug>``, ``agent:<id>``, ``trigger:<how>``)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ara.apps.models import App, AppMember, AppRun
from ara.search.paging import Page, bounded
from ara.search.results import narrowed
from ara.search.syntax import Query
from ara.users.service import Identity


def member_apps(identity: Identity) -> Select[tuple[str]]:
    """Ids of the apps ``identity`` holds any role on (``access.role_of`` for many apps at once)."""
    return select(AppMember.app_id).where(AppMember.user_id == identity.user_id)


def search_app_runs(session: Session, query: Query, identity: Identity | None, *, limit: int, offset: int) -> Page:
    if identity is None or identity.app_id is not None:
        return Page([], 0, False)
    run, app = AppRun, App
    statement = (
        select(
            run.id.label("pk"),
            run.run_id,
            run.app_id,
            run.agent_id,
            run.status,
            run.trigger,
            run.created_at,
            run.start_time,
            run.end_time,
            run.error,
            app.name,
            app.slug,
        )
        .join(app, app.id == run.app_id)
        .where(run.app_id.in_(member_apps(identity)))
        .order_by(run.created_at.desc(), run.id.desc())
    )
    names = [app.name, app.slug, run.agent_id, run.run_id]
    statement = narrowed(statement, query, status=run.status, playbook_id=run.playbook_id, names=names)
    rows, total, capped = bounded(session, statement, limit=limit, offset=offset)
    hits = [
        {
            "kind": "app",
            "id": row.run_id,
            "app_id": row.app_id,
            "status": row.status,
            "title": f"{row.name} · {row.agent_id}",
            "trigger": row.trigger,
            "error": row.error,
            "when": row.start_time or row.created_at,
            "duration": (row.end_time - row.start_time).total_seconds() if row.end_time and row.start_time else None,
        }
        for row in rows
    ]
    return Page(hits, total, capped)
