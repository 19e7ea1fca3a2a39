"""Idempotent creates: a POST carrying ``Idempotency-Key`` is remembered with what it created, in the create's
own transaction, so the same request sent again (a retry after a reset, a replayed spool) answers that object
with the original status and creates nothing. Requests without the header behave as ARA's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ara.errors import AlreadyExists, ValidationFailed
from ara.records import models as m

HEADER = "Idempotency-Key"
MAX_KEY = 255


class KeyTaken(Exception):
    """Another transaction stored this key first (two requests with one key raced); look it up again."""


def checked_key(raw: str | None) -> str | None:
    """The header's value, or a 400 naming the header when it cannot be a key."""
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ValidationFailed({HEADER: [f"must be 1 to {MAX_KEY} printable characters."]})
    return key


def find(session: Session, key: str, resource: str) -> m.RequestKey | None:
    """What this key created before, if anything; a key reused for another kind of object is a conflict."""
    seen = session.get(m.RequestKey, key)
    if seen is not None and seen.resource != resource:
        raise AlreadyExists(f"{HEADER} {key!r} was already used to create a {seen.resource[:-1]}")
    return seen


def remember(session: Session, key: str, resource: str, object_id: int, status_code: int) -> None:
    """Store the key in the current transaction (flushed now so that a racing request with the same key fails
    here, before the create commits: PostgreSQL makes the second insert wait for the first transaction)."""
    session.add(m.RequestKey(key=key, resource=resource, object_id=object_id, status_code=status_code))
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyTaken(key) from exc


def prune(session: Session, older_than: dt.datetime) -> int:
    """Forget keys stored before ``older_than``; a request replayed after that would create again."""
    result = session.execute(delete(m.RequestKey).where(m.RequestKey.created < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
