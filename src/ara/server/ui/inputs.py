"""Every UI request's query parameters and form fields, checked once before any route reads them: a NUL character
(PostgreSQL cannot store or even compare one in text, so it reached the database and answered 500) or a lone
surrogate is a 400 page naming the field, as the API's bodies (``routes.bodies``) and paths (``NulFreePath``)
already refuse them."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from ara.errors import ValidationFailed
from ara.records.fields import text_error
from ara.server.auth import SAFE_METHODS

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _check(items: Iterable[tuple[str, object]]) -> None:
    for name, value in items:
        for text in (name, value):
            problem = text_error(text) if isinstance(text, str) else None
            if problem:
                raise ValidationFailed({name.replace("\x00", "") or "field": [problem]})


async def refuse_bad_text(request: Request) -> None:
    """Router dependency of every UI route (after ``check_csrf``, which reads the same parsed form)."""
    _check(request.query_params.multi_items())
    if request.method not in SAFE_METHODS and request.headers.get("content-type", "").startswith(FORMS):
        _check((await request.form()).multi_items())
