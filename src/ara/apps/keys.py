"""An app's keys: runtime keys (``ara_rk_…``, sent as ``Authorization: Bearer``) and header keys (``ara_xk_…``,
sent as ``X-Ara-App-Key``). The key is shown once; only its sha256 and a short prefix (the SDK's ``setup-auth``
matches a known key by that prefix) are stored. Each key's requests are counted per unix minute in
``app_key_usage``, one atomic upsert per request, so its limit holds across API hosts."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ara.apps.models import AppKey, AppKeyUsage
from ara.db.types import iso, utcnow
from ara.db.upsert import increment
from ara.errors import NotFound, RateLimited, ValidationFailed

RUNTIME = "runtime"
HEADER = "header"
PREFIXES = {RUNTIME: "ara_rk_", HEADER: "ara_xk_"}
PREFIX_CHARS = 6  # random characters kept after ``ara_rk_`` to tell keys apart in a listing
MAX_RPM = 100_000


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_key_body(body: dict[str, Any], *, default_name: str, default_rpm: int) -> tuple[str, int]:
    """``{name, requests_per_minute}`` as the SDK sends them; a 400 names the bad field."""
    name = body.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ValidationFailed({"name": ["a non-empty string of at most 255 characters"]})
    rpm = body.get("requests_per_minute", default_rpm)
    if isinstance(rpm, bool) or not isinstance(rpm, int) or not 1 <= rpm <= MAX_RPM:
        raise ValidationFailed({"requests_per_minute": [f"an integer from 1 to {MAX_RPM}"]})
    unknown = sorted(set(body) - {"name", "requests_per_minute"})
    if unknown:
        raise ValidationFailed({field: ["unknown field"] for field in unknown})
    return name.strip(), rpm


def mint(session: Session, app_id: str, kind: str, *, name: str, rpm: int, user_id: int | None) -> tuple[str, AppKey]:
    """A new key of ``kind`` for the app: its text (returned once, never stored) and its row."""
    key = PREFIXES[kind] + secrets.token_urlsafe(32)
    row = AppKey(
        app_id=app_id,
        kind=kind,
        name=name,
        key_prefix=key[: len(PREFIXES[kind]) + PREFIX_CHARS],
        key_hash=digest(key),
        requests_per_minute=rpm,
        is_active=True,
        created_by=user_id,
    )
    session.add(row)
    session.flush()
    return key, row


def find_active(session: Session, app_id: str, key: str, *, kind: str) -> AppKey | None:
    """The app's active key of ``kind`` with this text (None otherwise); the hash is compared in constant time."""
    wanted = digest(key)
    row = session.scalar(select(AppKey).where(AppKey.key_hash == wanted))
    if row is None or not hmac.compare_digest(row.key_hash, wanted):
        return None
    if row.app_id != app_id or row.kind != kind or not row.is_active:
        return None
    return row


def spend(session: Session, key: AppKey, now: dt.datetime | None = None) -> None:
    """Count one request against this minute's budget; RateLimited (with seconds to wait) past it."""
    now = now or utcnow()
    window = int(now.timestamp()) // 60
    count = increment(session, AppKeyUsage.__table__, {"key_id": key.id, "window": window}, "count")
    if count == 1:  # the key's first request this minute: its older minutes are no longer needed
        session.execute(delete(AppKeyUsage).where(AppKeyUsage.key_id == key.id, AppKeyUsage.window < window))
    if count > key.requests_per_minute:
        wait = 60 - int(now.timestamp()) % 60
        raise RateLimited(
            f"this key allows {key.requests_per_minute} requests per minute; try again in {wait} s",
            {"retry_after": wait},
        )
    key.last_used_at = now


def list_keys(session: Session, app_id: str, kind: str) -> list[AppKey]:
    query = select(AppKey).where(AppKey.app_id == app_id, AppKey.kind == kind)
    return list(session.scalars(query.order_by(AppKey.created_at, AppKey.id)))


def deactivate(session: Session, app_id: str, key_id: str, kind: str) -> AppKey:
    row = session.get(AppKey, key_id)
    if row is None or row.app_id != app_id or row.kind != kind:
        raise NotFound(f"no key {key_id!r} on this app")
    row.is_active = False
    session.flush()
    return row


def describe(row: AppKey) -> dict[str, Any]:
    """A key as listed: never its text or hash."""
    return {
        "id": row.id,
        "name": row.name,
        "key_prefix": row.key_prefix,
        "is_active": row.is_active,
        "requests_per_minute": row.requests_per_minute,
        "created_at": iso(row.created_at),
        "last_used_at": iso(row.last_used_at),
    }
