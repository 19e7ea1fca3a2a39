"""``/ui/chat/control``: the chat page's WebSocket on its session's control channel. A browser cannot set
``Authorization`` on a WebSocket and the login cookie counts only under ``/ui``, so this socket takes the login
cookie, and (a cookie rides along with any site's WebSocket) only from a page of this site: ``Origin`` must be
this host. Then it is a control peer like the API's ``/session/runtime/control/ws``: the page registers its
actions (``static/chat.js``) and answers what ``POST /session/runtime/control/call`` forwards."""

from __future__ import annotations

from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, WebSocket
from fastapi.concurrency import run_in_threadpool

from ara.errors import AraError, PermissionDenied
from ara.server.middleware import resolve_page_caller
from ara.server.routes.control import serve_control_peer, socket_session
from ara.server.sockets import POLICY_VIOLATION, deny
from ara.server.state import AppState
from ara.server.ui.cookies import SESSION_COOKIE
from ara.server.ui.guards import LoginRequired

#: Not behind the UI router's CSRF dependency (a WebSocket has no form): the ``Origin`` check stands in for it.
socket_router = APIRouter(include_in_schema=False)
#: How often an open socket checks that its login still holds.
RECHECK_SECONDS = 5.0
CROSS_SITE = "this socket is for pages of this site only (Origin does not match the host)"


def same_origin(websocket: WebSocket) -> bool:
    """Browsers always send ``Origin`` on a WebSocket handshake; it must name this host."""
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("x-forwarded-host") or websocket.headers.get("host") or ""
    return bool(origin) and urlsplit(origin).netloc == host


@socket_router.websocket("/ui/chat/control")
async def chat_control(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.ara
    try:
        if not same_origin(websocket):
            raise PermissionDenied(CROSS_SITE)
        cookie = websocket.cookies.get(SESSION_COOKIE)
        identity = await run_in_threadpool(resolve_page_caller, state, None, cookie) if cookie else None
        if identity is None:
            raise LoginRequired()
        found = await run_in_threadpool(socket_session, state, identity.user_id, None)
    except AraError as error:
        await deny(websocket, error)
        return
    async with anyio.create_task_group() as group:
        group.start_soon(_close_on_logout, websocket, state, cookie)
        await serve_control_peer(websocket, found)
        group.cancel_scope.cancel()


async def _close_on_logout(websocket: WebSocket, state: AppState, cookie: str | None) -> None:
    """Every ``RECHECK_SECONDS``: once the login that opened the socket is gone (logout, expiry, deactivated
    user), close it; the peer's loop then ends and leaves the channel as on any close."""
    while True:
        await anyio.sleep(RECHECK_SECONDS)
        if await run_in_threadpool(resolve_page_caller, state, None, cookie) is None:
            await websocket.close(code=POLICY_VIOLATION, reason="logged out")
            return
