"""The apps pages: the apps a user holds a role on, and one app's agents, tools, schedules, endpoints, keys and
runs. They read through the control plane's services (``ara.apps``) with the same member roles: an app that is
not yours is 404, keys need ``editor``. A key minted here is shown once, in the answer to the form's POST."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from ara.apps import keys, listing, service
from ara.apps import manifest as manifests
from ara.apps.access import INVOKER, app_for_member, at_least, role_of
from ara.apps.endpoints import find_endpoint
from ara.apps.models import App
from ara.errors import ValidationFailed
from ara.server.deps import StateDep, transaction
from ara.server.routes.apps import DEFAULT_RPM
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render

router = APIRouter()
AppId = Annotated[str, Path(max_length=64)]
KeyId = Annotated[str, Path(max_length=64)]
#: A page number past any real app's runs (and within every database's OFFSET range).
MAX_PAGE = 1_000_000
KINDS = (keys.RUNTIME, keys.HEADER)


@router.get("/ui/apps", response_class=HTMLResponse)
def apps_page(request: Request, state: StateDep, user: UserDep) -> HTMLResponse:
    with transaction(request, state) as (session, _identity):
        rows = [service.summary(app, role) for app, role in service.list_apps(session, user.user_id)]
    return render(request, "apps/index.html", {"section": "apps", "apps": rows})


def endpoint_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Each endpoint's method, path and auth mode as the gateway reads them (``apps.endpoints.find_endpoint``)."""
    rows = []
    for row in manifests.endpoints(manifest):
        endpoint = find_endpoint(manifest, str(row["label"]))
        rows.append(
            {
                "label": endpoint.label,
                "method": endpoint.method,
                "path": row.get("path") or "",
                "mode": endpoint.mode,
                "agent_id": endpoint.agent_id or "",
            }
        )
    return rows


def agent_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Each agent's id, model (its own, else the app's), skills and handoffs; the default one marked."""
    default = manifests.default_agent_id(manifest)
    app_model = manifests.runtime_profile(manifest).get("model") or ""
    return [
        {
            "id": row["id"],
            "default": row["id"] == default,
            "model": row.get("model") or app_model,
            "skills": [str(name) for name in row.get("skills") or []],
            "handoff_to": [str(name) for name in row.get("handoff_to") or []],
            "task": str(row.get("task") or ""),
        }
        for row in manifests.agents(manifest)
    ]


def tool_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in manifests.tools(manifest):
        function = row["function"]
        parameters = function.get("parameters") if isinstance(function.get("parameters"), dict) else {}
        properties = parameters.get("properties") if isinstance(parameters.get("properties"), dict) else {}
        rows.append(
            {
                "name": str(function.get("name") or ""),
                "description": str(function.get("description") or ""),
                "parameters": list(properties),
            }
        )
    return rows


def app_context(session: Session, app: App, role: str, page: int, size: int) -> dict[str, Any]:
    """Everything the app page shows; keys only for an editor (as ``GET /apps/{id}/keys``)."""
    runs, total = listing.page_of_runs(session, app.id, page=page, size=size)
    editor = at_least(role, service.EDITOR)
    return {
        "section": "apps",
        "app": app,
        "role": role,
        "editor": editor,
        "agents": agent_rows(app.manifest),
        "tools": tool_rows(app.manifest),
        "endpoints": endpoint_rows(app.manifest),
        "schedules": listing.list_schedules(session, app.id),
        "keys": {kind: keys.list_keys(session, app.id, kind) for kind in KINDS} if editor else {},
        "runs": runs,
        "runs_total": total,
        "page": page,
        "size": size,
        "minted": None,
        "key_form": {"kind": keys.RUNTIME, "name": "", "requests_per_minute": ""},
        "key_errors": {},
        "invoker": at_least(role, INVOKER),
        "run_form": {"agent_id": manifests.default_agent_id(app.manifest) or "", "input": "{}"},
        "run_errors": {},
    }


@router.get("/ui/apps/{app_id}", response_class=HTMLResponse)
def app_page(
    app_id: AppId, request: Request, state: StateDep, user: UserDep, page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1
) -> HTMLResponse:
    with transaction(request, state) as (session, _identity):
        app = app_for_member(session, app_id, user.user_id)
        role = role_of(session, app.id, user.user_id) or ""
        context = app_context(session, app, role, page, state.settings.ui.page_size)
        return render(request, "apps/app.html", context)


def key_body(name: str, rpm: str, kind: str) -> dict[str, Any]:
    """The form's fields as the API's JSON body (``keys.parse_key_body`` checks them the same way)."""
    if kind not in KINDS:
        raise ValidationFailed({"kind": ["choose a runtime key or a header key"]})
    body: dict[str, Any] = {"name": name} if name.strip() else {}
    if rpm.strip():
        try:
            body["requests_per_minute"] = int(rpm)
        except ValueError:
            raise ValidationFailed({"requests_per_minute": [f"an integer from 1 to {keys.MAX_RPM}"]}) from None
    return body


@router.post("/ui/apps/{app_id}/keys", response_class=HTMLResponse)
def mint_key(
    app_id: AppId,
    request: Request,
    state: StateDep,
    user: UserDep,
    kind: Annotated[str, Form(max_length=16)] = keys.RUNTIME,
    name: Annotated[str, Form(max_length=1000)] = "",
    requests_per_minute: Annotated[str, Form(max_length=32)] = "",
) -> HTMLResponse:
    """Mints the key and answers the app page with its value, the only time it is shown; a bad field gives the
    page again with the message beside it (400), nothing minted."""
    form = {"kind": kind, "name": name, "requests_per_minute": requests_per_minute}
    with transaction(request, state, write=True) as (session, _identity):
        app = app_for_member(session, app_id, user.user_id, service.EDITOR)
        role = role_of(session, app.id, user.user_id) or ""
        try:
            body = key_body(name, requests_per_minute, kind)
            key_name, rpm = keys.parse_key_body(body, default_name=f"{app.slug}-{kind}", default_rpm=DEFAULT_RPM[kind])
        except ValidationFailed as error:
            context = app_context(session, app, role, 1, state.settings.ui.page_size)
            context.update(key_form=form, key_errors=error.detail)
            return render(request, "apps/app.html", context, status=400)
        value, row = keys.mint(session, app.id, kind, name=key_name, rpm=rpm, user_id=user.user_id)
        context = app_context(session, app, role, 1, state.settings.ui.page_size)
        context["minted"] = {"value": value, "name": row.name, "kind": kind, "prefix": row.key_prefix}
        response = render(request, "apps/app.html", context, status=201)
    response.headers["Cache-Control"] = "no-store"  # the key's only copy: never kept by a cache
    return response


@router.post("/ui/apps/{app_id}/keys/{key_id}/revoke", response_model=None)
def revoke_key(
    app_id: AppId,
    key_id: KeyId,
    request: Request,
    state: StateDep,
    user: UserDep,
    kind: Annotated[str, Form(max_length=16)] = keys.RUNTIME,
) -> RedirectResponse:
    if kind not in KINDS:
        raise ValidationFailed({"kind": ["choose a runtime key or a header key"]})
    with transaction(request, state, write=True) as (session, _identity):
        app = app_for_member(session, app_id, user.user_id, service.EDITOR)
        keys.deactivate(session, app.id, key_id, kind)
    return RedirectResponse(f"/ui/apps/{app_id}#keys", status_code=303)
