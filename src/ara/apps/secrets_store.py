"""An app's secrets, sealed at rest with the one ``SecretBox``; their values leave only into the sandbox.

Two kinds: named groups of values the SDK uploads at deploy (``POST /apps/{id}/secrets``), and the secret the
server mints for each endpoint whose auth needs one (``ARA_ENDPOINT_<LABEL>_SECRET``: the SDK forbids ``ARA_``
keys, so the server makes it), revealed to the owner by ``GET /apps/{id}/setup``."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.apps import manifest
from ara.apps.models import App, AppEndpointSecret, AppSecret
from ara.crypto import SecretBox
from ara.db.types import iso, utcnow
from ara.db.upsert import insert_missing
from ara.errors import NotFound, ValidationFailed

# As the SDK checks them (``SECRET_NAME_RE``, ``ENV_KEY_RE`` and its reserved keys).
SECRET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
RESERVED_KEYS = frozenset({"SESSION_ID", "USER_ID", "APP_ID"})
RESERVED_PREFIXES = ("ARA_", "MODAL_")
#: Endpoint auth modes that need a server-minted secret.
SECRET_MODES = frozenset({"header", "bearer", "hmac"})
MAX_VALUE_CHARS = 64 * 1024


def secret_name(name: Any) -> str:
    """Names are compared lowercased, as the SDK sends them."""
    if not isinstance(name, str) or not SECRET_NAME.match(name.strip().lower()):
        raise ValidationFailed({"name": ["2-64 characters: lowercase letters, digits, '-' or '_', no edge '-'/'_'"]})
    return name.strip().lower()


def _values(values: Any) -> dict[str, str]:
    if not isinstance(values, dict) or not values:
        raise ValidationFailed({"values": ["a non-empty object of KEY: value strings"]})
    for key, value in values.items():
        if not ENV_KEY.match(key) or key in RESERVED_KEYS or key.startswith(RESERVED_PREFIXES):
            raise ValidationFailed({f"values.{key}": ["not an allowed environment variable name"]})
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise ValidationFailed({f"values.{key}": [f"a string of at most {MAX_VALUE_CHARS} characters"]})
    return {key: values[key] for key in sorted(values)}


def put_secret(session: Session, box: SecretBox, app_id: str, body: dict[str, Any]) -> AppSecret:
    """Create or replace the named secret (``{name, values}``)."""
    unknown = sorted(set(body) - {"name", "values"})
    if unknown:
        raise ValidationFailed({field: ["unknown field"] for field in unknown})
    name = secret_name(body.get("name"))
    values = _values(body.get("values"))
    # ON CONFLICT DO NOTHING first: two requests putting the same new name at once both succeed, the later one's
    # values win (a SELECT-then-INSERT gave the loser a unique violation, a 500).
    sealed = box.seal(json.dumps(values))
    session.flush()
    missing = {"app_id": app_id, "name": name, "sealed": sealed, "keys": list(values)}
    insert_missing(session, AppSecret.__table__, [missing], ("app_id", "name"))
    row = session.scalar(
        select(AppSecret)
        .where(AppSecret.app_id == app_id, AppSecret.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    row.sealed, row.keys, row.updated_at = sealed, list(values), utcnow()
    session.flush()
    return row


def list_secrets(session: Session, app_id: str) -> list[AppSecret]:
    return list(session.scalars(select(AppSecret).where(AppSecret.app_id == app_id).order_by(AppSecret.name)))


def delete_secret(session: Session, app_id: str, name: str) -> None:
    row = session.scalar(select(AppSecret).where(AppSecret.app_id == app_id, AppSecret.name == name.strip().lower()))
    if row is None:
        raise NotFound(f"no secret {name!r} on this app")
    session.delete(row)
    session.flush()


def describe_secret(row: AppSecret) -> dict[str, Any]:
    """Names only, never values."""
    return {
        "name": row.name,
        "keys": list(row.keys),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def secret_values(session: Session, box: SecretBox, app_id: str) -> dict[str, str]:
    """Every value of every secret of the app, merged (``{KEY: value}``), for a run's sandbox environment; the
    endpoint secrets are there too, under their ``secret_env`` names (the app's code may check a signature)."""
    merged: dict[str, str] = {}
    for row in list_secrets(session, app_id):  # by name: a key in two secrets takes the later name's value
        merged.update(json.loads(box.open(row.sealed)))
    app = session.get(App, app_id)
    if app is not None:
        sealed = {row.label: row.sealed for row in _endpoint_rows(session, app_id)}
        for endpoint in manifest.endpoints(app.manifest):
            env = secret_env(endpoint)
            if endpoint["label"] in sealed and env:
                merged[env] = box.open(sealed[endpoint["label"]])
    return merged


def endpoint_secret(session: Session, box: SecretBox, app_id: str, label: str) -> str | None:
    """The secret minted at deploy for the endpoint ``label`` (None: the endpoint has no secret)."""
    row = session.get(AppEndpointSecret, (app_id, label))
    return box.open(row.sealed) if row is not None else None


def auth_mode(endpoint: dict[str, Any]) -> str:
    auth = endpoint.get("auth")
    return str(auth.get("mode") or "none") if isinstance(auth, dict) else "none"


def secret_env(endpoint: dict[str, Any]) -> str | None:
    """The env name the manifest gives the endpoint's secret, else ``ARA_ENDPOINT_<LABEL>_SECRET``."""
    if auth_mode(endpoint) not in SECRET_MODES:
        return None
    auth = endpoint.get("auth") or {}
    given = str(auth.get("secret_env") or "").strip()
    return given or "ARA_ENDPOINT_" + re.sub(r"[^A-Za-z0-9]", "_", str(endpoint["label"])).upper() + "_SECRET"


def _endpoint_rows(session: Session, app_id: str) -> list[AppEndpointSecret]:
    return list(session.scalars(select(AppEndpointSecret).where(AppEndpointSecret.app_id == app_id)))


def sync_endpoint_secrets(session: Session, box: SecretBox, app: App) -> None:
    """At each deploy: mint a secret for every endpoint that needs one and has none; drop those of endpoints that
    are gone or need none any more. A kept endpoint keeps its secret (callers already hold it)."""
    wanted = {row["label"] for row in manifest.endpoints(app.manifest) if auth_mode(row) in SECRET_MODES}
    existing = {row.label: row for row in _endpoint_rows(session, app.id)}
    for label, row in existing.items():
        if label not in wanted:
            session.delete(row)
    session.flush()
    # ON CONFLICT DO NOTHING: a concurrent deploy that minted the same label first keeps its secret.
    minted = [
        {"app_id": app.id, "label": label, "sealed": box.seal(secrets.token_urlsafe(32))}
        for label in sorted(wanted - set(existing))
    ]
    insert_missing(session, AppEndpointSecret.__table__, minted, ("app_id", "label"))
