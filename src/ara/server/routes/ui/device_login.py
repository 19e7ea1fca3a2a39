"""The approval page of the CLI's browser login (``ara auth login``): the link the CLI prints opens
``/ui/device/{id}``; the person logged in sees what is asking and approves (the CLI then logs in as them) or
denies. The logic is ``ara.users.device_logins``, shared with the ``/auth/cli/device/*`` API routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from ara.errors import Expired, ValidationFailed
from ara.server.deps import StateDep, transaction
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render
from ara.users import device_logins

router = APIRouter()
TEMPLATE = "accounts/device.html"


@router.get("/ui/device/{login_id}", response_class=HTMLResponse)
def device_page(login_id: str, request: Request, state: StateDep, user: UserDep) -> HTMLResponse:
    with transaction(request, state) as (session, _caller):
        login = device_logins.get_login(session, login_id)
        status = device_logins.status_of(login)
        if status == device_logins.EXPIRED:
            raise Expired("this login request has expired: run `ara auth login` again")
        context = {"section": "account", "login": login, "status": status, "decided": None}
        return render(request, TEMPLATE, context)


@router.post("/ui/device/{login_id}", response_class=HTMLResponse)
def decide(
    login_id: str,
    request: Request,
    state: StateDep,
    user: UserDep,
    decision: Annotated[str, Form()] = "",
) -> HTMLResponse:
    if decision not in ("approve", "deny"):
        raise ValidationFailed({"decision": ["approve or deny"]})
    with transaction(request, state, write=True) as (session, _caller):
        login = device_logins.decide(session, login_id, user.user_id, approve=decision == "approve")
        context = {"section": "account", "login": login, "status": login.status, "decided": login.status}
        return render(request, TEMPLATE, context)
