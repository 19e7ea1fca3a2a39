"""Logging in and out of the web UI: the login form checks the password as the API does (argon2, cached) and
opens a web session (``ara.users.web_sessions``); ``next`` only ever points back into this site. ``/ui/account``:
the user's own API keys (made here, shown once; revoked here) and their logins in other browsers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from ara.errors import RateLimited
from ara.server.deps import StateDep, transaction
from ara.server.state import AppState
from ara.server.ui.cookies import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render
from ara.users.service import Identity, list_tokens, mint_token, revoke_token_id
from ara.users.web_sessions import (
    close_user_sessions,
    close_web_session,
    list_web_sessions,
    open_web_session,
    session_handle,
)

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
    # The password is checked in a read: argon2 takes a few hundred ms, and SQLite's write lock held meanwhile
    # would stall every writer for as long as anyone keeps posting this form.
    try:
        with transaction(request, state, write=False) as (session, _caller):
            identity = state.credentials.check_password(session, username, password) if username and password else None
    except RateLimited as refused:  # too many wrong passwords for this name: the form again, with the wait
        context = {"next": target, "username": username, "error": refused.message}
        response = render(request, "login.html", context, status=429)
        response.headers["Retry-After"] = str(refused.detail["retry_after"])
        return response
    if identity is None:
        context = {"next": target, "username": username, "error": BAD_LOGIN}
        return render(request, "login.html", context, status=401)
    with transaction(request, state, write=True) as (session, _caller):
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


MAX_KEY_NAME = 255
#: Past any user's keys, and (times the page size) within every database's OFFSET range: larger is a 400.
MAX_PAGE = 1_000_000
#: Row ids are signed 64-bit integers: a larger id is a 400, not the database driver's overflow (a 500).
KeyId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _account(
    request: Request,
    state: AppState,
    user: Identity,
    session: Session,
    page: int = 1,
    **extra: Any,
) -> HTMLResponse:
    """The account page: one page of keys (newest first), the live logins, and whatever ``extra`` adds (a new
    key's value, a form error, the status)."""
    size = state.settings.ui.page_size
    keys, total = list_tokens(session, user.user_id, offset=(page - 1) * size, limit=size)
    logins, logins_total = list_web_sessions(session, user.user_id, limit=size)
    current = request.cookies.get(SESSION_COOKIE, "")
    context: dict[str, Any] = {
        "section": "account",
        "account": user,
        "keys": keys,
        "keys_total": total,
        "page": page,
        "size": size,
        "logins": [(row, row.id[:16], current and row.id[:16] == session_handle(current)) for row in logins],
        "logins_total": logins_total,
        "new_key": None,
        "key_name": "",
        "errors": {},
        "done": request.query_params.get("done", ""),
    }
    status = extra.pop("status", 200)
    response = render(request, "account.html", context | extra, status=status)
    response.headers["Cache-Control"] = "no-store"  # a new key's value must not outlive this response
    return response


@router.get("/ui/account", response_class=HTMLResponse)
def account_page(
    request: Request, state: StateDep, user: UserDep, page: int = Query(1, ge=1, le=MAX_PAGE)
) -> HTMLResponse:
    with transaction(request, state) as (session, _caller):
        return _account(request, state, user, session, page)


@router.post("/ui/account/keys", response_class=HTMLResponse)
def create_key(request: Request, state: StateDep, user: UserDep, name: Annotated[str, Form()] = "") -> HTMLResponse:
    """A new API key: its value is on this response only (stored as sha256)."""
    label = name.strip()
    problem = "Give the key a name." if not label else ("At most 255 characters." if len(label) > MAX_KEY_NAME else "")
    with transaction(request, state, write=not problem) as (session, _caller):
        if problem:
            return _account(request, state, user, session, errors={"name": [problem]}, key_name=name, status=400)
        value, row = mint_token(session, user.user_id, label)
        return _account(request, state, user, session, new_key={"name": row.name, "value": value}, status=201)


@router.post("/ui/account/keys/{key_id}/revoke", response_model=None)
def revoke_key(key_id: KeyId, request: Request, state: StateDep, user: UserDep) -> RedirectResponse:
    with transaction(request, state, write=True) as (session, _caller):
        revoke_token_id(session, user.user_id, key_id)
    return RedirectResponse("/ui/account?done=revoked", status_code=303)


@router.post("/ui/account/sessions/logout", response_model=None)
def logout_sessions(
    request: Request, state: StateDep, user: UserDep, session_id: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Log out one of the user's logins (``session_id``: its handle), or every other one (no handle)."""
    current = request.cookies.get(SESSION_COOKIE, "")
    with transaction(request, state, write=True) as (session, _caller):
        close_user_sessions(session, user.user_id, handle=session_id, keep=current)
    if current and session_id == session_handle(current):
        response = RedirectResponse("/", status_code=303)
        clear_session_cookie(response)
        return response
    return RedirectResponse("/ui/account?done=logged-out", status_code=303)
