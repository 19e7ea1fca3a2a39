"""A definition's run form (``/ui/runs/definitions/{id}``): fields generated from its parameters, defaults
rendered as ``POST /playbook/{id}/params`` renders them, and a submission that goes through ``create_run``
like ``POST /playbook/run``; the server's validation messages come back next to their fields (400)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from ara.errors import ValidationFailed
from ara.playbooks import definitions, runs
from ara.playbooks.permissions import allowed, require
from ara.playbooks.spec import PlaybookSpec
from ara.server.deps import StateDep, transaction
from ara.server.state import AppState
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render

router = APIRouter()
PREFIX = "params."  # a field's name (and the server's error key): ``params.<parameter>``


def submitted(form: FormData, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The parameters as ``POST /playbook/run`` takes them: an unchecked box is ``false`` (browsers send
    nothing for it), an empty field is left out (the server fills in its default or says it is required)."""
    params: dict[str, Any] = {}
    for item in fields:
        name = item["name"]
        if item["type"] == "checkbox":
            params[name] = "true" if form.get(PREFIX + name) else "false"
        elif (value := str(form.get(PREFIX + name, ""))) != "":
            params[name] = value
    return params


def split_errors(detail: Any) -> tuple[dict[str, list[str]], list[str]]:
    """The server's ``{"params.<name>": [...]}`` go next to their fields; anything else above the form."""
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    for key, messages in (detail or {}).items():
        if key.startswith(PREFIX):
            fields[key[len(PREFIX) :]] = list(messages)
        else:
            general.extend(f"{message}" if key in ("params", "body") else f"{key}: {message}" for message in messages)
    return fields, general


def approvers_text(spec: PlaybookSpec) -> str | None:
    """Who must approve a run (None: no approval step), as the form's notice says it."""
    if spec.approval is None:
        return None
    people = spec.approval.approvers.people + [f"team {team}" for team in spec.approval.approvers.teams]
    who = ", ".join(people) or "those granted approval"
    return f"{who} ({spec.approval.type} of them)" if len(people) > 1 else who


def _form_context(
    session: Any, identity: Any, definition_id: str, given: dict[str, Any] | None = None
) -> dict[str, Any]:
    require(session, identity, definition_id, "read")
    definition = definitions.get_definition(session, definition_id)
    fields = runs.params_form(session, definition_id, {"params": given or {}}, identity)["params"]
    return {
        "section": "runs",
        "definition": definitions.as_dict(definition),
        "approvers": approvers_text(definitions.spec_of(definition)),
        "fields": fields,
        "values": given if given is not None else {f["name"]: f["default"] for f in fields},
        "may_run": allowed(session, identity, definition_id, "run"),
        "field_errors": {},
        "errors": [],
    }


@router.get("/ui/runs/definitions/{definition_id}", response_class=HTMLResponse)
def definition_form(definition_id: str, request: Request, state: StateDep, user: UserDep) -> HTMLResponse:
    with transaction(request, state) as (session, identity):
        context = _form_context(session, identity, definition_id)
    return render(request, "runs/definition.html", context)


def _start(request: Request, state: AppState, definition_id: str, form: FormData) -> str | dict[str, Any]:
    """The new run's id, or (the server refused the values) the form's context with its messages."""
    with transaction(request, state, write=False) as (session, identity):
        fields = runs.params_form(session, definition_id, {}, identity)["params"]
    params = submitted(form, fields)
    try:
        with transaction(request, state) as (session, identity):
            run = runs.create_run(
                session,
                state.engine_context.box,
                playbook_id=definition_id,
                request={"id": definition_id, "params": params},
                identity=identity,
            )
            return run.id
    except ValidationFailed as error:
        with transaction(request, state, write=False) as (session, identity):
            context = _form_context(session, identity, definition_id, given=params)
        secret = {f["name"] for f in fields if f["type"] == "secret"}
        context["values"] = {k: v for k, v in params.items() if k not in secret}  # never echo a secret
        context["field_errors"], context["errors"] = split_errors(error.detail)
        return context


@router.post("/ui/runs/definitions/{definition_id}", response_class=HTMLResponse, response_model=None)
async def start_run(definition_id: str, request: Request, state: StateDep, user: UserDep) -> Response:
    form = await request.form()
    outcome = await run_in_threadpool(_start, request, state, definition_id, form)
    if isinstance(outcome, str):
        return RedirectResponse(f"/ui/runs/{outcome}", status_code=303)
    return render(request, "runs/definition.html", outcome, status=400)
