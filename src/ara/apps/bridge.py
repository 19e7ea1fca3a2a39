"""Playbooks meet agents: which app a playbook run may use, as whom, and stopping an app run it started.

A playbook run acts as the user who started it (a run a trigger fired, as the user who defined the playbook).
That user must hold ``operator`` or more on the app (its owner does): an app is its members' alone, so a
playbook author's admin role on playbooks gives no reach into other people's apps."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ara.apps.access import app_for_member
from ara.apps.models import App, AppRun
from ara.errors import NotFound, PermissionDenied
from ara.lifecycle.ending import end_run
from ara.lifecycle.executor import abort
from ara.lifecycle.states import TERMINAL, RunStatus
from ara.users.models import User

#: The least role on an app that lets a playbook run start its agents.
PLAYBOOK_ROLE = "operator"


def app_for_actor(session: Session, ref: str, username: str | None) -> tuple[App, int]:
    """The app named by ``ref`` (its id or slug) and the acting user's id; NotFound when the app does not exist
    for them, PermissionDenied when there is no user to act as or their role is too weak."""
    if not username:
        raise PermissionDenied("a playbook run started by no user cannot run an app agent")
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise PermissionDenied(f"user {username!r} who runs this playbook is unknown or inactive")
    app_id = session.scalar(select(App.id).where(or_(App.id == ref, App.slug == ref)))
    try:
        if app_id is None:
            raise NotFound("no such app")
        return app_for_member(session, app_id, user.id, PLAYBOOK_ROLE), user.id
    except NotFound:  # a missing app and one that is not theirs read the same, by the name they wrote
        raise NotFound(f"app {ref!r} not found") from None


def cancel_app_run(session: Session, run_pk: str, reason: str) -> None:
    """End the app run (if it has not ended) and interrupt whatever executes it once ``session`` commits."""
    run = session.get(AppRun, run_pk, with_for_update=True)
    if run is None or run.status in TERMINAL:
        return
    end_run(session, run, RunStatus.CANCELLED, reason)
    abort(session, run.id)
