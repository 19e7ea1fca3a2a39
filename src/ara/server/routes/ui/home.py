"""The start page at ``/``: the search box and the way into each area."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ara.server.ui.pages import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def start_page(request: Request) -> HTMLResponse:
    return render(request, "home.html", {"section": "home"})
