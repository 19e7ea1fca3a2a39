"""Records pages of single objects: a file (highlighted, each task's line marked and anchored), a result (its
content and diff), the hosts index (the latest of each name) and a host (facts and results). They read through
the records API's ``Resource.retrieve`` and ``Resource.list``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ara.records.live import with_names
from ara.records.resources import RESOURCES
from ara.server.deps import StateDep, transaction
from ara.server.ui.guards import RecordsReaderDep
from ara.server.ui.highlight import diff_html, file_html, json_html
from ara.server.ui.listing import Listing, listing, query
from ara.server.ui.pages import render

router = APIRouter()
MARKED_TASKS = 1000  # tasks of one file whose lines are marked (a file has far fewer)


@router.get("/ui/records/files/{key}", response_class=HTMLResponse)
def file_page(key: str, request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    with transaction(request, state) as (session, _):
        file = RESOURCES["files"].retrieve(session, key)
        params = {"playbook": [str(file["playbook"]["id"])], "path": [file["path"]], "order": ["id"]}
        _, tasks, _, _ = RESOURCES["tasks"].list(session, params | {"limit": [str(MARKED_TASKS)]}, MARKED_TASKS)
    tasks = [t for t in tasks if t["file"] == file["id"]]  # ``path`` matches by substring
    context = {
        "section": "records",
        "file": file,
        "tasks": tasks,
        "code": file_html(file["path"], file["content"], [t["lineno"] for t in tasks]),
    }
    return render(request, "records/file.html", context)


@router.get("/ui/records/results/{key}", response_class=HTMLResponse)
def result_page(key: str, request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    with transaction(request, state) as (session, _):
        result = RESOURCES["results"].retrieve(session, key)
    content: dict[str, Any] = result["content"] if isinstance(result["content"], dict) else {}
    context = {
        "section": "records",
        "result": result,
        "content_html": json_html(result["content"]),
        "diff": diff_html(content.get("diff")) if content.get("diff") else None,
        "message": content.get("msg") if isinstance(content.get("msg"), str) else None,
    }
    return render(request, "records/result.html", context)


@router.get("/ui/records/hosts", response_class=HTMLResponse)
def host_index(request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    params = query(request)
    name = params.get("name", [""])[-1]
    with transaction(request, state) as (session, _):
        hosts = listing(session, RESOURCES["latesthosts"], request, {"name": [name]}, size=state.settings.ui.page_size)
    return render(request, "records/hosts.html", {"section": "records", "hosts": hosts, "name": name})


@router.get("/ui/records/hosts/{key}", response_class=HTMLResponse)
def host_page(key: str, request: Request, state: StateDep, _reader: RecordsReaderDep) -> HTMLResponse:
    with transaction(request, state) as (session, _):
        host = RESOURCES["hosts"].retrieve(session, key)
        results = listing(
            session, RESOURCES["results"], request, {"host": [str(host["id"])]}, size=state.settings.ui.page_size
        )
        results = Listing(with_names(session, results.items), results.count, results.page, results.size, results.url)
    context = {"section": "records", "host": host, "results": results, "facts_html": json_html(host["facts"])}
    return render(request, "records/host.html", context)
