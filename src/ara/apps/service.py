"""Deploying apps: create (the caller becomes its owner), update or redeploy (the manifest fields sent replace
the stored ones, ``version`` + 1), move the status, list and read. Every deploy re-reads the manifest's
schedules (``apps.schedules.sync_schedules``) and mints the endpoints' secrets.

Functions take the caller's ``Session`` and never commit: the route owns the transaction, so an app, its owner
row, its schedules and its endpoint secrets are written together or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ara.apps import manifest, schedules, secrets_store, validation
from ara.apps.access import app_for_member
from ara.apps.models import App, AppMember
from ara.crypto import SecretBox
from ara.db.types import iso, utcnow
from ara.db.upsert import is_unique_violation
from ara.errors import AlreadyExists, ValidationFailed
from ara.settings import Settings

TAKEN = "Project name {slug!r} is already taken"
#: Who may deploy, change keys and secrets, invite and see the endpoint secrets.
EDITOR = "editor"


def _deployed(session: Session, box: SecretBox, app: App) -> None:
    """What every deploy does after the manifest is stored."""
    schedules.sync_schedules(session, app)
    secrets_store.sync_endpoint_secrets(session, box, app)


def create_app(session: Session, settings: Settings, box: SecretBox, user_id: int, body: dict[str, Any]) -> App:
    """``POST /apps``: the manifest (plus an optional initial ``status``); 409 when the slug is taken by anyone."""
    validation.check_fields(body, allowed=(*manifest.FIELDS, "status"))
    doc = {field: body[field] for field in manifest.FIELDS if field in body}
    validation.check_manifest(doc, settings.runtime)
    status = validation.check_status(body["status"]) if "status" in body else "draft"
    if session.scalar(select(App.id).where(App.slug == doc["slug"])) is not None:
        raise AlreadyExists(TAKEN.format(slug=doc["slug"]))
    app = App(
        owner_id=user_id,
        slug=doc["slug"],
        name=doc["name"].strip(),
        description=str(doc.get("description") or ""),
        status=status,
        manifest=doc,
        version=1,
    )
    session.add(app)
    try:
        session.flush()  # two deploys of one new slug at once: the loser gets the 409 (and a rollback), not a 500
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise AlreadyExists(TAKEN.format(slug=doc["slug"])) from None
        raise
    session.add(AppMember(app_id=app.id, user_id=user_id, role="owner"))
    session.flush()
    _deployed(session, box, app)
    return app


def update_app(
    session: Session, settings: Settings, box: SecretBox, user_id: int, app_id: str, body: dict[str, Any]
) -> App:
    """``PATCH /apps/{id}``: manifest fields replace the stored ones (a redeploy: version + 1, schedules and
    endpoint secrets re-read); ``status`` alone only moves the status. Editor or owner."""
    app = app_for_member(session, app_id, user_id, EDITOR)
    if not body:
        raise ValidationFailed({"body": ["nothing to change"]})
    validation.check_fields(body, allowed=(*manifest.FIELDS, "status"))
    if "slug" in body and body["slug"] != app.slug:
        raise ValidationFailed({"slug": ["an app's slug cannot change: deploy it as a new app"]})
    status = validation.check_status(body["status"]) if "status" in body else None
    changes = {field: body[field] for field in manifest.FIELDS if field in body and field != "slug"}
    if changes:
        doc = {**app.manifest, **changes, "slug": app.slug}
        validation.check_manifest(doc, settings.runtime)
        app.manifest = {field: doc[field] for field in manifest.FIELDS if field in doc}
        app.name = doc["name"].strip()
        app.description = str(doc.get("description") or "")
        app.version += 1
    if status is not None:
        app.status = status
    app.updated_at = utcnow()
    session.flush()
    if changes:
        _deployed(session, box, app)
    return app


def list_apps(session: Session, user_id: int) -> list[tuple[App, str]]:
    """Every app the user holds a role on, with that role."""
    query = (
        select(App, AppMember.role)
        .join(AppMember, AppMember.app_id == App.id)
        .where(AppMember.user_id == user_id)
        .order_by(App.created_at, App.id)
    )
    return [(app, role) for app, role in session.execute(query).all()]


def summary(app: App, role: str) -> dict[str, Any]:
    return {
        "id": app.id,
        "slug": app.slug,
        "name": app.name,
        "description": app.description,
        "status": app.status,
        "role": role,
        "version": app.version,
        "created_at": iso(app.created_at),
        "updated_at": iso(app.updated_at),
    }


def describe(app: App, role: str) -> dict[str, Any]:
    """``GET /apps/{id}``: the stored manifest exactly as sent, at the top level, with ``id``, ``status``,
    ``version`` and the caller's ``role`` beside it."""
    return {
        **app.manifest,
        "id": app.id,
        "status": app.status,
        "version": app.version,
        "role": role,
        "created_at": iso(app.created_at),
        "updated_at": iso(app.updated_at),
    }
