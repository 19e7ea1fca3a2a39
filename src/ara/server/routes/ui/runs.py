"""The playbook-runs area's start page (``/ui/runs``): the definitions (filtered by the resource they apply to)
and the recent runs (filtered by status and playbook), both paged, read through the services the ``/playbook``
API uses."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from ara.catalog.service import find_item
from ara.errors import NotFound, ValidationFailed
from ara.lifecycle.states import RunStatus
from ara.playbooks import definitions, runs
from ara.playbooks.definitions import SELECTOR_FIELDS
from ara.playbooks.models import PlaybookDefinition
from ara.playbooks.permissions import require
from ara.server.deps import StateDep, transaction
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render

router = APIRouter()
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
STATUSES = [status.value for status in RunStatus]


def page_url(request: Request, key: str) -> str:
    """This page's URL with ``key={page}`` for the pager macro, every other filter kept."""
    kept = [(name, value) for name, value in request.query_params.multi_items() if name != key]
    query = urlencode(kept)
    return f"{request.url.path}?{query}{'&' if query else ''}{key}={{page}}"


def _by_resource(session: Any, resource: str) -> list[PlaybookDefinition]:
    """The live definitions whose selectors match the catalog item ``resource`` (config, check or component)."""
    if not resource:
        return definitions.list_definitions(session)
    found = find_item(session, resource)
    if found is None:
        raise NotFound(f"no config, check or component with id {resource!r}")
    return definitions.list_definitions(session, **{SELECTOR_FIELDS[found[0]]: resource})


@router.get("/ui/runs", response_class=HTMLResponse)
def runs_index(
    request: Request,
    state: StateDep,
    user: UserDep,
    resource: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    playbook: Annotated[str, Query(max_length=36)] = "",
    page: PageNumber = 1,
    dpage: PageNumber = 1,
) -> HTMLResponse:
    size = state.settings.ui.page_size
    if status and status not in STATUSES:
        raise ValidationFailed({"status": [f"must be one of: {', '.join(STATUSES)}"]})
    resource = resource.strip()
    errors: dict[str, list[str]] = {}
    with transaction(request, state) as (session, identity):
        require(session, identity, None, "read")
        try:
            found = _by_resource(session, resource)
        except (NotFound, ValidationFailed) as error:
            errors["resource"], found = [error.message], []
        statuses = [status] if status else []
        chosen = definitions.get_definition(session, playbook, include_deleted=True) if playbook else None
        listed = runs.list_runs(
            session, playbook_id=playbook or None, statuses=statuses, limit=size, offset=(page - 1) * size
        )
        total = runs.count_runs(session, playbook_id=playbook or None, statuses=statuses)
        names = {
            run.playbook_id: definitions.get_definition(session, run.playbook_id, include_deleted=True).name
            for run in listed
        }
        context = {
            "section": "runs",
            "definitions": found[(dpage - 1) * size : dpage * size],
            "definitions_total": len(found),
            "dpage": dpage,
            "runs": [runs.run_dict(run) for run in listed],
            "runs_total": total,
            "page": page,
            "size": size,
            "names": names,
            "resource": resource,
            "status": status,
            "statuses": STATUSES,
            "playbook": chosen,
            "errors": errors,
            "runs_url": page_url(request, "page"),
            "definitions_url": page_url(request, "dpage"),
        }
    return render(request, "runs/index.html", context, status=400 if errors else 200)
