"""Webhook triggers: find the playbook by path, check its own authentication (HTTP basic, or GitHub's
``X-Hub-Signature-256`` HMAC) in constant time, and start a run through the one pipeline."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

from fastapi import Request
from sqlalchemy import select

from ara.db.session import unit_of_work
from ara.errors import BodyNotJson, NotFound, Unauthenticated
from ara.playbooks.models import PlaybookDefinition
from ara.playbooks.runs import create_run
from ara.playbooks.spec import PlaybookSpec, WebhookAuthentication
from ara.server.routes.bodies import parse_json
from ara.server.state import AppState


def _find(state: AppState, path: str) -> tuple[str, PlaybookSpec]:
    with unit_of_work(state.reader) as session:
        for definition in session.scalars(select(PlaybookDefinition).where(PlaybookDefinition.deleted_at.is_(None))):
            spec = PlaybookSpec.model_validate(definition.spec)
            if spec.on.webhook is not None and spec.on.webhook.path == path:
                return definition.id, spec
    raise NotFound(f"no webhook at {path}")


def _opened(state: AppState, value: str) -> str:
    from ara.crypto import is_sealed

    return state.engine_context.box.open(value) if is_sealed(value) else value


def check_authentication(state: AppState, auth: WebhookAuthentication | None, request: Request, raw: bytes) -> None:
    if auth is None:
        return
    if auth.basic is not None:
        scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        good = hmac.compare_digest(user.encode(), auth.basic.username.encode()) & hmac.compare_digest(
            password.encode(), _opened(state, auth.basic.password).encode()
        )
        if scheme.lower() != "basic" or not good:
            raise Unauthenticated("webhook credentials are wrong")
    if auth.github is not None:
        signature = request.headers.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(_opened(state, auth.github.token).encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthenticated("webhook signature does not match")


def accept_webhook(state: AppState, path: str, request: Request, raw: bytes) -> str:
    playbook_id, spec = _find(state, path)
    assert spec.on.webhook is not None
    check_authentication(state, spec.on.webhook.authentication, request, raw)
    try:
        payload: Any = parse_json(raw) if raw.strip() else {}
    except BodyNotJson:  # not JSON (or NaN, lone surrogates): kept as text for the run's templates
        payload = raw.decode("utf-8", "replace")
    params = payload.get("params", {}) if isinstance(payload, dict) else {}
    body = {"params": params, "webhook": {"path": path, "body": payload}}
    with unit_of_work(state.writer) as session:
        run = create_run(
            session,
            state.engine_context.box,
            playbook_id=playbook_id,
            request=body,
            identity=None,
            trigger="webhook",
            check_permission=False,
        )
        return run.id
