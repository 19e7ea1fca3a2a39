"""What WebSocket routes share: the caller's identity (the auth middleware sees only HTTP requests) and a refused
handshake that still tells the client why, as an HTTP status with Ara's JSON error body."""

from __future__ import annotations

from fastapi import WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ara.errors import AraError, Unauthenticated
from ara.server.auth import NO_CREDENTIALS
from ara.server.errors import status_for
from ara.server.middleware import resolve
from ara.server.state import AppState
from ara.users.service import Identity

DENIAL_EXTENSION = "websocket.http.response"
POLICY_VIOLATION = 1008


def bearer_of(websocket: WebSocket, *, query_token: bool = False) -> str:
    """The bearer token of the handshake: the ``Authorization`` header or, where browsers need it (they cannot
    set headers on a WebSocket), a ``token`` query parameter."""
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return websocket.query_params.get("token", "").strip() if query_token else ""


async def user_identity(websocket: WebSocket, state: AppState) -> Identity:
    """The user a user key names (``Unauthenticated`` for none or a wrong one)."""
    token = bearer_of(websocket, query_token=True)
    if not token:
        raise Unauthenticated(NO_CREDENTIALS)
    identity = await run_in_threadpool(resolve, state, f"Bearer {token}")
    if identity is None:
        raise Unauthenticated(NO_CREDENTIALS)
    return identity


async def deny(websocket: WebSocket, error: AraError) -> None:
    """Refuse the handshake: the error's HTTP status and body where the server can send one, else a close."""
    if DENIAL_EXTENSION in websocket.scope.get("extensions", {}):
        body = {"error": {"code": error.code, "message": error.message, "detail": error.detail}}
        await websocket.send_denial_response(JSONResponse(body, status_code=status_for(error)))
    else:
        await websocket.close(code=POLICY_VIOLATION, reason=error.message[:120])
