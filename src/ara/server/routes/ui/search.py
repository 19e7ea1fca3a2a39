"""``/ui/search?q=...``: the top bar's box. Open where the records are (``RecordsReaderDep``); runs and app runs
need a login and follow their domains' read rules (``ara.search``). A query that cannot be read is the page again
with the message next to the box (400), never an error page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ara.db.session import unit_of_work
from ara.errors import ValidationFailed
from ara.search.service import Outcome, page_number, search
from ara.search.syntax import FILTERS, KINDS, PLAYBOOK_STATUSES, RESULT_STATUSES, RUN_STATUSES
from ara.server.deps import StateDep
from ara.server.ui.guards import RecordsReaderDep
from ara.server.ui.pages import render

router = APIRouter()


def search_url(q: str, **extra: str) -> str:
    return "/ui/search?" + urlencode({"q": q, **extra})


@router.get("/ui/search", response_class=HTMLResponse)
def search_page(request: Request, state: StateDep, identity: RecordsReaderDep) -> HTMLResponse:
    q = request.query_params.get("q", "")
    context: dict[str, Any] = {
        "section": "search",
        "q": q,
        "errors": {},
        "outcome": None,
        "search_url": search_url,
        "syntax": {
            "filters": FILTERS,
            "kinds": KINDS,
            "result_statuses": RESULT_STATUSES,
            "playbook_statuses": PLAYBOOK_STATUSES,
            "run_statuses": RUN_STATUSES,
        },
    }
    try:
        number = page_number(request.query_params.get("page"))
        with unit_of_work(state.reader) as session:
            outcome: Outcome = search(session, q, identity, page_size=state.settings.ui.page_size, page=number)
    except ValidationFailed as error:
        context["errors"] = error.detail
        return render(request, "search/page.html", context, status=400)
    context["outcome"] = outcome
    return render(request, "search/page.html", context)
