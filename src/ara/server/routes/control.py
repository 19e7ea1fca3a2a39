"""The control channel's routes (user key; ``ara.runtime.control``): the WebSocket a page or app holds on its
session, the list of the actions it registered, and a call forwarded to it, on this API host or, through
``ara.server.control_relay``, on whichever host holds the page's WebSocket."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ara.db.session import unit_of_work
from ara.errors import AraError, ValidationFailed
from ara.runtime.schemas import MAX_ID, SESSION_ID
from ara.runtime.sessions import owned_session, running_session
from ara.server.control_relay import call_action, list_actions, registry, relay_of
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import error_response_doc, request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.routes.runtime import user_of
from ara.server.sockets import deny, user_identity
from ara.server.state import AppState

PREFIX = "/session/runtime/control"
router = APIRouter(prefix=PREFIX, tags=["runtime"], route_class=OwnRoute)
socket_router = APIRouter(prefix=PREFIX, tags=["runtime"])
MAX_TIMEOUT_MS = 600_000


class ControlCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    session_id: str | None = Field(default=None, max_length=MAX_ID, pattern=SESSION_ID)
    action: str = Field(min_length=1, max_length=128)
    args: dict[str, Any] = Field(default_factory=dict)
    timeout_ms: int = Field(default=8000, ge=1, le=MAX_TIMEOUT_MS)


class ControlCallRead(BaseModel):
    ok: bool
    session_id: str
    action: str
    result: Any = None
    error: Any = None


class ControlActionsRead(BaseModel):
    session_id: str
    actions: list[dict[str, Any]]


@router.get("/actions", response_model=ControlActionsRead)
async def list_control_actions(
    request: Request,
    state: StateDep,
    session_id: Annotated[str | None, Query(max_length=MAX_ID, pattern=SESSION_ID)] = None,
) -> JSONResponse:
    """What the connected clients registered, on any API host (empty when none is connected)."""

    def owned() -> str:
        with transaction(request, state) as (session, identity):
            return owned_session(session, user_of(identity), session_id).id

    found = await run_in_threadpool(owned)
    return JSONResponse({"session_id": found, "actions": await list_actions(request.app, found)})


@router.post(
    "/call",
    response_model=ControlCallRead,
    responses={504: error_response_doc("The control client did not answer within timeout_ms.")},
    openapi_extra=request_body(ControlCall),
)
async def call_control_action(request: Request, state: StateDep) -> JSONResponse:
    """Forward one call and wait up to ``timeout_ms``: ``{ok, result}`` or the client's ``{ok: false, error}``;
    409 when no client registered the action, 504 when it does not answer in time."""
    body = await json_body(request, default={})
    given = validated(ControlCall, body)

    def running() -> str:
        with transaction(request, state) as (session, identity):
            return running_session(session, user_of(identity), given.session_id).id

    found = await run_in_threadpool(running)
    answer = await call_action(request.app, found, given.action, given.args, given.timeout_ms / 1000)
    if answer.get("ok") is True:
        return JSONResponse({"ok": True, "session_id": found, "action": given.action, "result": answer.get("result")})
    error = answer.get("error")
    return JSONResponse(
        {"ok": False, "session_id": found, "action": given.action, "error": error if error else "the action failed"}
    )


def socket_session(state: AppState, user_id: int, session_id: str | None) -> str:
    with unit_of_work(state.writer) as session:
        return running_session(session, user_id, session_id).id


@socket_router.websocket("/ws")
async def control_socket(websocket: WebSocket) -> None:
    """``?session_id=`` (the caller's running session when empty); the key in ``Authorization`` or ``?token=``."""
    state: AppState = websocket.app.state.ara
    try:
        identity = await user_identity(websocket, state)
        session_id = websocket.query_params.get("session_id") or None
        if session_id is not None and (len(session_id) > MAX_ID or not re.match(SESSION_ID, session_id)):
            raise ValidationFailed({"session_id": ["not a session id (sess-…)"]})
        found = await run_in_threadpool(socket_session, state, identity.user_id, session_id)
    except AraError as error:
        await deny(websocket, error)
        return
    await serve_control_peer(websocket, found)


async def serve_control_peer(websocket: WebSocket, session_id: str) -> None:
    """Accepts the checked socket and serves it as a control peer of ``session_id`` until it closes: the API's
    socket above and the web UI's chat page (``ara.server.routes.ui.chat_control``) join the channel here."""
    await websocket.accept()
    control, relay = registry(websocket.app), relay_of(websocket.app)
    peer = control.attach(session_id, websocket.send_json)
    try:
        if relay is not None:
            await relay.attached(peer)
        await websocket.send_json({"type": "ready", "session_id": session_id})
        while True:
            received = await websocket.receive()
            if received["type"] == "websocket.disconnect":
                break
            text = received.get("text") or (received.get("bytes") or b"").decode("utf-8", "replace")
            try:
                message = json.loads(text)
            except ValueError as exc:
                await websocket.send_json({"type": "error", "error": f"invalid JSON: {exc}"})
                continue
            reply = control.receive(peer, message)
            if relay is not None and reply is not None and reply["type"] == "registered":
                await relay.registered(peer)  # other hosts see the actions before the client hears they are set
            if reply is not None:
                await websocket.send_json(reply)
    except WebSocketDisconnect:
        pass
    finally:
        control.detach(peer)
        if relay is not None:
            await relay.detached(peer)
