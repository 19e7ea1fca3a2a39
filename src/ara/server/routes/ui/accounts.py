"""Logging in and out of the web UI: the login form checks the password as the API does (argon2, cached) and
opens a web session (``ara.users.web_sessions``); ``next`` only ever points back into this site."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ara.server.deps import StateDep, transaction
from ara.server.ui.cookies import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render
from ara.users.web_sessions import close_web_session, open_web_session

router = APIRouter()
BAD_LOGIN = "Wrong username or password."


def safe_next(value: str | None) -> str:
    """Only a path on this site (``/ui/...``, ``/``): never another host, never ``//evil``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    return "/" if parts.scheme or parts.netloc else value


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002 - the parameter's public name
    return render(request, "login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/ui/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",  # noqa: A002
) -> HTMLResponse | RedirectResponse:
    target = safe_next(next)
    with transaction(request, state, write=True) as (session, _caller):
        identity = state.credentials.check_password(session, username, password) if username and password else None
        if identity is None:
            context = {"next": target, "username": username, "error": BAD_LOGIN}
            return render(request, "login.html", context, status=401)
        value = open_web_session(session, identity.user_id, dt.timedelta(hours=state.settings.ui.session_hours))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, state.settings, value)
    return response


@router.post("/ui/logout", response_model=None)
def logout(request: Request, state: StateDep) -> RedirectResponse:
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        with transaction(request, state, write=True) as (session, _caller):
            close_web_session(session, value)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/ui/account", response_class=HTMLResponse)
def account_page(request: Request, user: UserDep) -> HTMLResponse:
    return render(request, "account.html", {"section": "account", "account": user})
