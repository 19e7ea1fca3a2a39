"""The UI's two cookies: the login (``ara_session``: HttpOnly, SameSite=Lax) and the CSRF token (``ara_csrf``:
SameSite=Strict, double-submitted by every form and htmx request, see ``ara.server.ui.csrf``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ara.settings import Settings

SESSION_COOKIE = "ara_session"
CSRF_COOKIE = "ara_csrf"


def secure(request: Request, settings: Settings) -> bool:
    """``ui.secure_cookies``, or (unset) whether the browser reached us over HTTPS."""
    if settings.ui.secure_cookies is not None:
        return settings.ui.secure_cookies
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    max_age = int(settings.ui.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request, settings),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def set_csrf_cookie(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, value, path="/", httponly=True, samesite="strict", secure=secure(request, settings)
    )
