"""A playbook run's page (``/ui/runs/{run_id}``): status, each action's attempts with timings and output, the
approvals, the artifacts, and the approve / reject / cancel / re-run buttons. Reads go through ``runs.run_status``
(the API's ``/playbook/run/{id}/status``); every button posts to a route calling the same service, with the same
permission check, as the API's (a forged post by someone not allowed gets 403)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ara.errors import NotFound
from ara.lifecycle.states import TERMINAL, RunStatus
from ara.playbooks import runs
from ara.playbooks.artifacts import artifact_dict, find_artifact, run_artifacts
from ara.playbooks.permissions import allowed, is_approver, require
from ara.playbooks.spec import PlaybookSpec
from ara.server.deps import StateDep, transaction
from ara.server.routes.playbooks import artifact_response, open_artifact
from ara.server.state import AppState
from ara.server.ui.csrf import csrf_token
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import environment, render
from ara.users.service import Identity

router = APIRouter()
Comment = Annotated[str, Form(max_length=10_000)]
OUTPUT_KEYS = ("stdout", "stderr")
#: The page's parts, in order; the live stream sends one again when its HTML changes (event ``run-<part>``).
PARTS = ("facts", "controls", "params", "approvals", "actions", "artifacts")
OUTPUT_LIMIT = 64 * 1024  # characters of each output a page shows


def seconds_between(start: str | None, end: str | None) -> float | None:
    """An action's or run's duration from the API's ISO timestamps (None until it has both)."""
    if not start or not end:
        return None
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def tail(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The end of a long output (where the error usually is), saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"[{len(text) - limit:,} earlier characters not shown: the API's run status has them all]\n" + text[-limit:]


def output_of(result: Any) -> dict[str, Any]:
    """An attempt's result as the page shows it: ``stdout``/``stderr`` as text, the rest as JSON, each cut to
    its last ``OUTPUT_LIMIT`` characters (the page is sent again whenever the run changes)."""
    if not isinstance(result, dict):
        return {"rest": tail(json.dumps(result, indent=2, default=str)) if result is not None else ""}
    rest = {key: value for key, value in result.items() if key not in OUTPUT_KEYS}
    shown = {key: tail(str(result[key])) for key in OUTPUT_KEYS if result.get(key)}
    return {**shown, "rest": tail(json.dumps(rest, indent=2, default=str)) if rest else ""}


def live_context(session: Session, identity: Identity | None, run_id: str) -> dict[str, Any]:
    """Everything the live part of the page shows, and which buttons this person may press."""
    view = runs.run_status(session, run_id)
    run = view["run"]
    identity = require(session, identity, run["playbook_id"], "read")
    stored = runs.get_run(session, run_id)
    spec = PlaybookSpec.model_validate(stored.spec)
    terminal = run["status"] in TERMINAL
    actions = [
        {
            **action,
            "seconds": seconds_between(action["start_time"], action["end_time"]),
            "output": output_of(action["result"]),
        }
        for action in view["actions"]
    ]
    return {
        "run": run,
        "playbook": view["playbook"],
        "actions": actions,
        "approvals": view["approvals"],
        "artifacts": [artifact_dict(a) for a in run_artifacts(session, run_id)],
        "seconds": seconds_between(run["start_time"], run["end_time"]),
        "terminal": terminal,
        "may_decide": run["status"] == RunStatus.PENDING_APPROVAL
        and identity.app_id is None
        and is_approver(session, identity, spec, run["playbook_id"]),
        "may_cancel": not terminal and allowed(session, identity, run["playbook_id"], "cancel"),
        "may_rerun": terminal and allowed(session, identity, run["playbook_id"], "run"),
    }


def render_parts(request: Request, state: AppState, run_id: str) -> tuple[dict[str, str], bool]:
    """Each live part's HTML for this person, and whether the run is over (the stream's last message)."""
    with transaction(request, state, write=False) as (session, identity):
        context = live_context(session, identity, run_id)
    page = {"request": request, "user": identity, "csrf_token": csrf_token(request), **context}
    parts = {part: environment().get_template(f"runs/_{part}.html").render(page) for part in PARTS}
    return parts, context["terminal"]


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, state: StateDep, user: UserDep) -> HTMLResponse:
    with transaction(request, state) as (session, identity):
        context = live_context(session, identity, run_id)
    return render(request, "runs/run.html", {"section": "runs", "parts": PARTS, **context})


def _back(run_id: str) -> RedirectResponse:
    return RedirectResponse(f"/ui/runs/{run_id}", status_code=303)


@router.post("/ui/runs/{run_id}/approve", response_model=None)
def approve(run_id: str, request: Request, state: StateDep, user: UserDep, comment: Comment = "") -> Response:
    with transaction(request, state) as (session, identity):
        runs.decide(session, run_id, identity, approved=True, comment=comment.strip())
    return _back(run_id)


@router.post("/ui/runs/{run_id}/reject", response_model=None)
def reject(run_id: str, request: Request, state: StateDep, user: UserDep, comment: Comment = "") -> Response:
    with transaction(request, state) as (session, identity):
        runs.decide(session, run_id, identity, approved=False, comment=comment.strip())
    return _back(run_id)


@router.post("/ui/runs/{run_id}/cancel", response_model=None)
def cancel(run_id: str, request: Request, state: StateDep, user: UserDep) -> Response:
    with transaction(request, state) as (session, identity):
        runs.cancel_run(session, run_id, identity)
    return _back(run_id)


@router.post("/ui/runs/{run_id}/rerun", response_model=None)
def rerun(run_id: str, request: Request, state: StateDep, user: UserDep) -> Response:
    with transaction(request, state) as (session, identity):
        run = runs.rerun(session, state.engine_context.box, run_id, identity)
        new_id = run.id
    return _back(new_id)


@router.get("/ui/runs/{run_id}/artifacts/{artifact_id}", response_model=None)
def download(run_id: str, artifact_id: str, request: Request, state: StateDep, user: UserDep) -> Response:
    """The API's download (same permission: may read the run), for the browser's login cookie."""
    with transaction(request, state) as (session, identity):
        if find_artifact(session, artifact_id).run_id != run_id:
            raise NotFound(f"artifact {artifact_id} not found in run {run_id}")
        found = open_artifact(session, identity, state.engine_context.store, artifact_id)
    return artifact_response(found)
