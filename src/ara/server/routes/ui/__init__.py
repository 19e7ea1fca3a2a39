"""The web UI's pages, one module per area, all under ``/ui`` (and ``/``) and all behind ``check_csrf``.
``install_ui`` mounts the static files and includes every area's router."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from ara.server.routes.ui import accounts, home, records, records_items, records_live
from ara.server.ui.csrf import check_csrf
from ara.web import STATIC_DIR

AREAS = (home, accounts, records_live, records_items, records)


def install_ui(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
    for area in AREAS:
        router.include_router(area.router)
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
