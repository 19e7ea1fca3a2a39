"""Accepting an app invitation (``ara invite app.py --email E`` prints this page's link): a new person makes
their account here (username: the invited email) and is logged in; a logged-in person accepts into their own
account. The logic is ``ara.apps.invites``, shared with ``POST /apps/invites/accept``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from ara.apps import invites
from ara.errors import ValidationFailed
from ara.server.deps import StateDep, transaction
from ara.server.ui.cookies import set_session_cookie
from ara.server.ui.guards import MaybeUserDep
from ara.server.ui.pages import render
from ara.users.service import Identity
from ara.users.web_sessions import open_web_session

router = APIRouter()
PAGE = "accounts/invite.html"
ACCEPTED = "accounts/invite_accepted.html"


def _page(request: Request, row: Any, app: Any, token: str, errors: dict[str, list[str]], status: int) -> HTMLResponse:
    context = {"section": "account", "invite": row, "app": app, "token": token, "errors": errors}
    return render(request, PAGE, context, status=status)


@router.get("/ui/invites/{token}", response_class=HTMLResponse)
def invite_page(token: str, request: Request, state: StateDep, user: MaybeUserDep) -> HTMLResponse:
    with transaction(request, state) as (session, _caller):
        row, app = invites.find_invite(session, token)
        return _page(request, row, app, token, {}, 200)


@router.post("/ui/invites/{token}", response_class=HTMLResponse)
def accept(
    token: str,
    request: Request,
    state: StateDep,
    user: MaybeUserDep,
    password: Annotated[str, Form()] = "",
    password_again: Annotated[str, Form()] = "",
) -> HTMLResponse:
    if user is not None:
        with transaction(request, state, write=True) as (session, _caller):
            _row, app = invites.find_invite(session, token)
            _row, role = invites.accept_invite(session, token, user.user_id, user.username)
            return render(request, ACCEPTED, {"section": "account", "app": app, "role": role, "new_account": False})
    try:
        with transaction(request, state, write=True) as (session, _caller):
            row, app = invites.find_invite(session, token)
            account, _row, role = invites.sign_up(session, token, password, password_again)
            lifetime = dt.timedelta(hours=state.settings.ui.session_hours)
            cookie = open_web_session(session, account.id, lifetime)
            who = Identity(account.id, account.username, account.role)
            context = {"section": "account", "app": app, "role": role, "new_account": True, "user": who}
    except ValidationFailed as exc:  # the form again, each message beside its field
        with transaction(request, state) as (session, _caller):
            row, app = invites.find_invite(session, token)
            return _page(request, row, app, token, exc.detail, 400)
    response = render(request, ACCEPTED, context)
    set_session_cookie(response, request, state.settings, cookie)
    return response
