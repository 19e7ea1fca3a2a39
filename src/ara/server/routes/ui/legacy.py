"""ARA 1.8's page addresses (``/playbooks/7.html``: what ``ara playbook show`` prints as ``report``, and what
bookmarks from an ARA server hold) lead to the same record's page here."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter()
KINDS = ("playbooks", "results", "hosts", "files")


def _redirect(kind: str) -> Callable[[int], RedirectResponse]:
    def ara_page(record_id: int) -> RedirectResponse:
        return RedirectResponse(f"/ui/records/{kind}/{record_id}", status_code=301)

    return ara_page


for _kind in KINDS:
    router.add_api_route(f"/{_kind}/{{record_id:int}}.html", _redirect(_kind), methods=["GET"], response_model=None)
