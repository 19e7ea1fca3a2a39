"""Records pages: the playbook index (the API's filters, paginated) and a playbook's page (hosts with their stats,
plays, tasks, results filterable by status and optionally failed first, files, records, labels; each list is its
own page of the API's ``Resource.list``, so a playbook of any size costs a fixed number of short queries)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records.live import current_cursor, with_names
from ara.records.representation import playbook as playbook_shape
from ara.records.resources import RESOURCES
from ara.records.resources.base import playbook_items
from ara.records.resources.results import Results
from ara.records.service import get_or_404, parse_id
from ara.records.status import PlaybookStatus, ResultStatus
from ara.server.deps import StateDep, transaction
from ara.server.ui.guards import RecordsReaderDep
from ara.server.ui.listing import Listing, listing, query, url_with
from ara.server.ui.pages import render

router = APIRouter()
INDEX_FILTERS = ("status", "name", "path", "label", "controller", "user", "started_after", "started_before")
# Results are filtered by the status they are shown with (``shown_status``): the API's stored status and flags.
RESULT_STATUSES: dict[str, dict[str, list[str]]] = {
    "ok": {"status": ["ok"], "changed": ["false"]},
    "changed": {"status": ["ok"], "changed": ["true"]},
    "failed": {"status": ["failed"], "ignore_errors": ["false"]},
    "ignored": {"status": ["failed"], "ignore_errors": ["true"]},
    **{s.value: {"status": [s.value]} for s in ResultStatus if s not in (ResultStatus.OK, ResultStatus.FAILED)},
}


def result_filter(status: str) -> dict[str, list[str]]:
    """The API filters of a shown status; an unknown one is a 400 naming ``status``."""
    if not status:
        return {}
    if status not in RESULT_STATUSES:
        choices = ", ".join(RESULT_STATUSES)
        raise ValidationFailed({"status": [f"Select a valid choice. {status} is not one of {choices}."]})
    return RESULT_STATUSES[status]


def with_values(session: Session, records: Listing) -> Listing:
    """The records' values (the API's list shape leaves them out), in one query for the page."""
    ids = [r["id"] for r in records.items]
    values = dict(session.execute(select(m.Record.id, m.Record.value).where(m.Record.id.in_(ids))).all()) if ids else {}
    items = [r | {"value": values.get(r["id"])} for r in records.items]
    return Listing(items, records.count, records.page, records.size, records.url)


@router.get("/ui/records", response_class=HTMLResponse)
@router.get("/ui/records/playbooks", response_class=HTMLResponse)
def playbook_index(request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    params = query(request)
    filters = {name: params[name] for name in INDEX_FILTERS if name in params}
    values = {name: values[-1] for name, values in filters.items()}
    context: dict[str, Any] = {"section": "records", "values": values, "statuses": tuple(PlaybookStatus)}
    try:
        with transaction(request, state) as (session, _):
            size = state.settings.ui.page_size
            context["playbooks"] = listing(session, RESOURCES["playbooks"], request, filters, size=size)
    except ValidationFailed as error:  # the form again, with the message beside the field
        context.update(playbooks=None, errors=error.detail)
        return render(request, "records/playbooks.html", context, status=400)
    return render(request, "records/playbooks.html", {**context, "errors": {}})


@router.get("/ui/records/playbooks/{key}", response_class=HTMLResponse)
def playbook_page(key: str, request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    params = query(request)
    size = state.settings.ui.page_size
    status = params.get("status", [""])[-1]
    first = params.get("failed_first", [""])[-1] == "1"
    with transaction(request, state) as (session, _):
        playbook = get_or_404(session, m.Playbook, parse_id(key))
        pid = [str(playbook.id)]
        shape = playbook_shape(playbook, items=playbook_items(session, [playbook.id])[playbook.id])
        lists: dict[str, Listing] = {
            name: listing(session, RESOURCES[name], request, {"playbook": pid}, size=size, page_param=f"{name}_page")
            for name in ("hosts", "plays", "tasks", "files", "records")
        }
        results = listing(
            session,
            RESOURCES["results"],
            request,
            {"playbook": pid, **result_filter(status)},
            size=size,
            page_param="results_page",
            default_order=Results.failed_first() if first else None,
        )
        results = Listing(with_names(session, results.items), results.count, results.page, size, results.url)
        lists["records"] = with_values(session, lists["records"])
        live = playbook.status == PlaybookStatus.RUNNING and results.page == 1 and not status and not first
        cursor = current_cursor(session, playbook.id) if live else None
    context = {
        "section": "records",
        "playbook": shape,
        "results": results,
        "status_filter": status,
        "failed_first": first,
        "result_statuses": tuple(RESULT_STATUSES),
        "live_url": f"/ui/records/playbooks/{playbook.id}/live?after={cursor.token()}" if cursor else None,
        "url_with": lambda **changes: url_with(request, **changes),
        **lists,
    }
    return render(request, "records/playbook.html", context)
