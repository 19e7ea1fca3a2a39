"""The web UI's pages, one module per area, all under ``/ui`` (and ``/``) and all behind ``check_csrf`` and
``refuse_bad_text`` (no NUL in a parameter or field). ``install_ui`` mounts the static files and includes every
area's router."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from ara.server.routes.ui import (
    accounts,
    apps,
    apps_runs,
    chat,
    chat_control,
    chat_files,
    device_login,
    home,
    invites,
    legacy,
    records,
    records_items,
    records_live,
    runs,
    runs_form,
    runs_live,
    runs_page,
    search,
)
from ara.server.ui.csrf import check_csrf
from ara.server.ui.inputs import refuse_bad_text
from ara.web import STATIC_DIR

AREAS = (
    home,
    accounts,
    device_login,
    invites,
    search,
    records_live,
    records_items,
    records,
    runs,
    runs_form,
    runs_live,
    runs_page,
    apps,
    apps_runs,
    chat,
    chat_files,
    legacy,
)
#: WebSocket routes: outside the CSRF dependency (no form on a handshake); each checks ``Origin`` itself.
SOCKETS = (chat_control.socket_router,)


def install_ui(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf), Depends(refuse_bad_text)])
    for area in AREAS:
        router.include_router(area.router)
    app.include_router(router)
    for socket_router in SOCKETS:
        app.include_router(socket_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
