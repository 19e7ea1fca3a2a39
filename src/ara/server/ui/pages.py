"""Rendering a page: one Jinja2 environment over ``ara/web/templates`` (autoescaped), the context every page
gets (the user, the CSRF token, the settings), the CSRF cookie set on first visit and the security headers
(no inline scripts: the CSP allows only our own files)."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ara.server.ui.cookies import CSRF_COOKIE, set_csrf_cookie
from ara.server.ui.csrf import csrf_token
from ara.server.ui.guards import caller_identity

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def when(value: dt.datetime | str | None) -> str:
    """A timestamp as people read it, in UTC (``2026-12-02 10:04:05``)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return (
        value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo else value.strftime("%Y-%m-%d %H:%M:%S")
    )


def duration(seconds: float | dt.timedelta | None) -> str:
    """``1h 02m``, ``3m 04s``, ``5.2s``, ``120ms``."""
    if seconds is None:
        return "—"
    if isinstance(seconds, dt.timedelta):
        seconds = seconds.total_seconds()
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ara.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    return env


def compile_templates() -> None:
    """Compile every template once at server start, so the first visitor does not wait for it (about 60 ms of
    a cold playbook page); the offline client and the CLI, which build the app without serving pages, skip it."""
    env = environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    """The page ``template`` with ``context`` plus ``request``, ``user``, ``csrf_token`` and ``settings``."""
    token = csrf_token(request)
    full = {
        "request": request,
        "user": caller_identity(request),
        "csrf_token": token,
        "settings": request.app.state.ara.settings,
        **(context or {}),
    }
    html = environment().get_template(template).render(full)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if request.cookies.get(CSRF_COOKIE) != token:
        set_csrf_cookie(response, request, request.app.state.ara.settings, token)
    return response
