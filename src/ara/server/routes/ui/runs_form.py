"""A definition's run form (``/ui/runs/definitions/{id}``): fields generated from its parameters, defaults
rendered as ``POST /playbook/{id}/params`` renders them, and a submission that goes through ``create_run``
like ``POST /playbook/run``; the server's validation messages come back next to their fields (400)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ara.catalog.service import find_item
from ara.errors import ValidationFailed
from ara.playbooks import definitions, runs
from ara.playbooks.definitions import SELECTOR_FIELDS
from ara.playbooks.permissions import allowed, require
from ara.playbooks.spec import PlaybookSpec
from ara.server.deps import StateDep, transaction
from ara.server.state import AppState
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render

router = APIRouter()
PREFIX = "params."  # a field's name (and the server's error key): ``params.<parameter>``
RECENT = 10  # runs of this playbook listed under its form (the rest: /ui/runs?playbook=ID)
TARGET_KEYS = frozenset({"resource", *SELECTOR_FIELDS.values()})


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


def split_errors(detail: Any) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """The server's ``{"params.<name>": [...]}`` go next to their fields, a target's (``config_id`` ...) next to
    the resource field, anything else above the form."""
    fields: dict[str, list[str]] = {}
    resource: list[str] = []
    general: list[str] = []
    for key, messages in (detail or {}).items():
        if key.startswith(PREFIX):
            fields[key[len(PREFIX) :]] = list(messages)
        elif key in TARGET_KEYS:
            resource.extend(messages)
        else:
            general.extend(f"{message}" if key in ("params", "body") else f"{key}: {message}" for message in messages)
    return fields, resource, general


def with_target(session: Session, request: dict[str, Any], resource: str) -> dict[str, Any]:
    """The run request aimed at catalog item ``resource`` (its kind found by id), as the API takes it."""
    if not resource:
        return request
    found = find_item(session, resource)
    if found is None:
        raise ValidationFailed({"resource": [f"no config, check or component with id {resource!r}"]})
    return {**request, SELECTOR_FIELDS[found[0]]: resource}


def approvers_text(spec: PlaybookSpec) -> str | None:
    """Who must approve a run (None: no approval step), as the form's notice says it."""
    if spec.approval is None:
        return None
    people = spec.approval.approvers.people + [f"team {team}" for team in spec.approval.approvers.teams]
    who = ", ".join(people) or "those granted approval"
    return f"{who} ({spec.approval.type} of them)" if len(people) > 1 else who


def _form_context(
    session: Session, identity: Any, definition_id: str, given: dict[str, Any] | None = None, resource: str = ""
) -> dict[str, Any]:
    require(session, identity, definition_id, "read")
    definition = definitions.get_definition(session, definition_id)
    spec = definitions.spec_of(definition)
    request = with_target(session, {"params": given or {}}, resource)
    fields = runs.params_form(session, definition_id, request, identity)["params"]
    return {
        "section": "runs",
        "definition": definitions.as_dict(definition),
        "approvers": approvers_text(spec),
        "targets": [kind[:-1] for kind in SELECTOR_FIELDS if getattr(spec, kind)],
        "resource": resource,
        "fields": fields,
        "values": given if given is not None else {f["name"]: f["default"] for f in fields},
        "may_run": allowed(session, identity, definition_id, "run"),
        "recent": [runs.run_dict(run) for run in runs.list_runs(session, playbook_id=definition_id, limit=RECENT)],
        "field_errors": {},
        "resource_errors": [],
        "errors": [],
    }


@router.get("/ui/runs/definitions/{definition_id}", response_class=HTMLResponse)
def definition_form(
    definition_id: str,
    request: Request,
    state: StateDep,
    user: UserDep,
    resource: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """``?resource=ID``: the form aimed at that catalog item (its defaults may read it)."""
    with transaction(request, state) as (session, identity):
        context = _form_context(session, identity, definition_id, resource=resource.strip())
    return render(request, "runs/definition.html", context)


def _start(request: Request, state: AppState, definition_id: str, form: FormData) -> str | dict[str, Any]:
    """The new run's id, or (the server refused the values) the form's context with its messages."""
    with transaction(request, state, write=False) as (session, identity):
        fields = runs.params_form(session, definition_id, {}, identity)["params"]
    params = submitted(form, fields)
    resource = str(form.get("resource", "")).strip()
    try:
        with transaction(request, state) as (session, identity):
            body = with_target(session, {"id": definition_id, "params": params}, resource)
            run = runs.create_run(
                session,
                state.engine_context.box,
                playbook_id=definition_id,
                request=body,
                identity=identity,
                trigger="ui",
            )
            return run.id
    except ValidationFailed as error:
        field_errors, resource_errors, general = split_errors(error.detail)
        with transaction(request, state, write=False) as (session, identity):
            shown = "" if resource_errors else resource  # a form aimed at a bad target renders without it
            context = _form_context(session, identity, definition_id, given=params, resource=shown)
        secret = {f["name"] for f in fields if f["type"] == "secret"}
        context["values"] = {k: v for k, v in params.items() if k not in secret}  # never echo a secret
        context.update(resource=resource, field_errors=field_errors, resource_errors=resource_errors, errors=general)
        return context


@router.post("/ui/runs/definitions/{definition_id}", response_class=HTMLResponse, response_model=None)
async def start_run(definition_id: str, request: Request, state: StateDep, user: UserDep) -> Response:
    form = await request.form()
    outcome = await run_in_threadpool(_start, request, state, definition_id, form)
    if isinstance(outcome, str):
        return RedirectResponse(f"/ui/runs/{outcome}", status_code=303)
    return render(request, "runs/definition.html", outcome, status=400)
