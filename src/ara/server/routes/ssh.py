"""``WebSocket /session/ssh/proxy`` (``Authorization: Bearer <proxy token>``, not a user key): the byte pipe ``ara
ssh-proxy`` holds for OpenSSH's ``ProxyCommand``, served by the in-process SSH server (``ara.runtime.ssh``)."""

from __future__ import annotations

import contextlib

import asyncssh
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from ara.db.session import unit_of_work
from ara.errors import AraError
from ara.runtime import connect
from ara.runtime.models import RuntimeSession
from ara.runtime.sandbox.base import Limits
from ara.runtime.sandbox.select import choose_sandbox
from ara.runtime.sessions import workspace_of
from ara.runtime.ssh import load_host_key, serve
from ara.runtime.ssh_process import SshTarget
from ara.runtime.workspace import Workspace
from ara.server.sockets import bearer_of, deny
from ara.server.state import AppState

socket_router = APIRouter(tags=["runtime"])


class _SocketStream:
    """A WebSocket as the SSH connection's byte pipe (binary frames; a text frame counts as its UTF-8 bytes)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def receive(self) -> bytes | None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        data = message.get("bytes")
        return data if data is not None else str(message.get("text") or "").encode("utf-8")

    async def send(self, data: bytes) -> None:
        try:
            await self.websocket.send_bytes(data)
        except (WebSocketDisconnect, RuntimeError) as exc:  # the client went away while we wrote
            raise ConnectionError(str(exc)) from None


def host_key(app: FastAPI, state: AppState) -> asyncssh.SSHKey:
    found: asyncssh.SSHKey | None = getattr(app.state, "ara_ssh_host_key", None)
    if found is None:
        found = app.state.ara_ssh_host_key = load_host_key(state.settings.base_dir)
    return found


def _grant(state: AppState, token: str) -> tuple[connect.ProxyGrant, Workspace]:
    with unit_of_work(state.writer) as session:
        grant = connect.proxy_grant(session, token)
        return grant, workspace_of(state.settings, session.get_one(RuntimeSession, grant.session_id))


def _still_running(state: AppState, session_id: str, active: bool) -> bool:
    with unit_of_work(state.writer if active else state.reader) as session:
        return connect.session_still_running(session, session_id, touch=active)


@socket_router.websocket("/session/ssh/proxy")
async def ssh_proxy(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.ara
    try:
        grant, workspace = await run_in_threadpool(_grant, state, bearer_of(websocket))
        key = await run_in_threadpool(host_key, websocket.app, state)
        sandbox = await run_in_threadpool(choose_sandbox, state.settings.runtime)
    except AraError as error:
        await deny(websocket, error)
        return
    await websocket.accept()
    runtime = state.settings.runtime
    target = SshTarget(
        session_id=grant.session_id,
        workspace=workspace,
        network=grant.network and runtime.network,
        sandbox=sandbox,
        limits=Limits.from_settings(runtime),
    )

    async def still_running(active: bool) -> bool:
        return await run_in_threadpool(_still_running, state, grant.session_id, active)

    await serve(
        _SocketStream(websocket),
        host_key=key,
        allowed_key=grant.public_key,
        target=target,
        still_running=still_running,
        check_seconds=runtime.ssh_check_seconds,
    )
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close()
