"""``POST /session/connect/token`` and ``/session/connect/exchange`` (user key): the two steps of ``ara connect``
(``ara.runtime.connect``). The SSH proxy itself is ``ara.server.routes.ssh``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ara.db.types import iso
from ara.runtime import connect
from ara.runtime.schemas import EmptyBody
from ara.runtime.sessions import running_session
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import error_response_doc, request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.routes.runtime import empty_body, user_of

router = APIRouter(prefix="/session/connect", tags=["runtime"], route_class=OwnRoute)


class ConnectTokenRead(BaseModel):
    ok: bool
    token: str
    uri: str
    expires_at: str
    session_id: str


class ConnectExchange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    token: str = Field(min_length=1, max_length=512)
    public_key: str = Field(min_length=1, max_length=16_384)
    key_comment: str = Field(default="", max_length=255)


class ConnectExchangeRead(BaseModel):
    ok: bool
    proxy_token: str
    host_alias: str
    session_id: str
    user: str
    expires_at: str
    commands: dict[str, str]


@router.post(
    "/token", status_code=201, response_model=ConnectTokenRead, openapi_extra=request_body(EmptyBody, required=False)
)
async def create_connect_token(request: Request, state: StateDep) -> JSONResponse:
    """A one-time token for ``ara connect`` (10 minutes) on the caller's running session (503 without one)."""
    await empty_body(request)

    def work() -> dict[str, Any]:
        with transaction(request, state) as (session, identity):
            runtime_session = running_session(session, user_of(identity), None)
            token, expires_at = connect.mint_connect_token(session, runtime_session)
            session_id = runtime_session.id
        return {
            "ok": True,
            "token": token,
            "uri": connect.connect_uri(token),
            "expires_at": iso(expires_at),
            "session_id": session_id,
        }

    return JSONResponse(await run_in_threadpool(work), status_code=201)


@router.post(
    "/exchange",
    response_model=ConnectExchangeRead,
    responses={410: error_response_doc("The connect token expired: mint a new one.")},
    openapi_extra=request_body(ConnectExchange),
)
async def exchange_connect_token(request: Request, state: StateDep) -> JSONResponse:
    """Spend a connect token with an SSH public key: the proxy token for ``ara ssh-proxy`` and the ssh commands."""
    body = await json_body(request, default={})

    def work() -> dict[str, Any]:
        with transaction(request, state) as (session, identity):
            user_id = user_of(identity)
            given = validated(ConnectExchange, body)
            return connect.exchange(
                session,
                user_id=user_id,
                token=given.token.strip(),
                public_key=given.public_key,
                key_comment=given.key_comment,
            )

    return JSONResponse(await run_in_threadpool(work))
