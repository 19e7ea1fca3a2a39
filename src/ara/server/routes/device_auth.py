"""The CLI's browser login on the wire (``ara.users.device_logins``): ``GET /auth/cli/config``,
``POST /auth/cli/device/start``, ``GET /auth/cli/device/status`` and the token exchange the SDK sends to what
it takes for Supabase (``POST /auth/v1/token?grant_type=pkce|refresh_token``): our config names this server as
``supabase_url``, so the exchange comes here. None of them takes credentials (``ara.server.auth.UNCHECKED``):
the poll token, the PKCE verifier and the refresh token are the credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ara.db.session import unit_of_work
from ara.db.types import iso
from ara.server.deps import OwnRoute, StateDep
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_object
from ara.server.state import AppState
from ara.settings import AuthSettings
from ara.users import device_logins
from ara.users.device_logins import IssuedTokens, Lifetimes

router = APIRouter(tags=["auth"], route_class=OwnRoute)
CALLBACK_PATH = "/auth/cli/callback"  # names where the code was issued; the exchange checks it matches


class CliConfig(BaseModel):
    supabase_url: str
    supabase_anon_key: str
    api_base_url: str


class DeviceStartCreate(BaseModel):
    """What ``ara-sdk`` sends; the handler checks it (``ara.users.device_logins.start_login``)."""

    code_challenge: str = Field(min_length=43, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")
    code_challenge_method: Literal["s256", "S256"] = "s256"
    provider: str = Field(default="ara", min_length=1, max_length=64)
    timeout_seconds: int = Field(default=180, ge=1)


class TokenCreate(BaseModel):
    """``grant_type=pkce``: the first three; ``grant_type=refresh_token``: ``refresh_token``."""

    auth_code: str | None = None
    code_verifier: str | None = None
    redirect_uri: str | None = None
    refresh_token: str | None = None


class DeviceStart(BaseModel):
    authorize_url: str
    verification_uri: str
    session_id: str
    poll_token: str
    interval_seconds: int
    expires_at: str


class DeviceStatus(BaseModel):
    status: str
    auth_code: str | None = None
    redirect_uri: str | None = None
    state: str | None = None
    error: str | None = None
    error_description: str | None = None


class TokenUser(BaseModel):
    id: str
    email: str


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    expires_at: int
    refresh_token: str
    user: TokenUser


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def lifetimes(auth: AuthSettings) -> Lifetimes:
    return Lifetimes(
        login=dt.timedelta(seconds=auth.device_login_seconds),
        access=dt.timedelta(seconds=auth.cli_access_token_seconds),
        refresh=dt.timedelta(days=auth.cli_refresh_token_days),
    )


async def _in_transaction(state: AppState, work: Callable[[Session], Any]) -> Any:
    def run() -> Any:
        with unit_of_work(state.writer) as session:
            return work(session)

    return await run_in_threadpool(run)


@router.get("/auth/cli/config", response_model=CliConfig)
def cli_config(request: Request) -> dict[str, str]:
    base = _base_url(request)
    return {"supabase_url": base, "supabase_anon_key": device_logins.ANON_KEY, "api_base_url": base}


@router.post("/auth/cli/device/start", response_model=DeviceStart, openapi_extra=request_body(DeviceStartCreate))
async def device_start(request: Request, state: StateDep) -> dict[str, Any]:
    body = await json_object(request)
    base = _base_url(request)
    address = request.client.host if request.client else "unknown address"
    client = f"{address}, {request.headers.get('user-agent', 'no user agent')}"
    longest = lifetimes(state.settings.auth).login

    def work(session: Session) -> dict[str, Any]:
        row, poll_token = device_logins.start_login(
            session, body, client=client, redirect_uri=base + CALLBACK_PATH, longest=longest
        )
        link = f"{base}/ui/device/{row.id}"
        return {
            "authorize_url": link,
            "verification_uri": link,
            "session_id": row.id,
            "poll_token": poll_token,
            "interval_seconds": device_logins.POLL_INTERVAL_SECONDS,
            "expires_at": iso(row.expires),
        }

    return await _in_transaction(state, work)  # type: ignore[no-any-return]


@router.get("/auth/cli/device/status", response_model=DeviceStatus, response_model_exclude_none=True)
async def device_status(
    state: StateDep, session_id: str = Query(max_length=64), poll_token: str = Query(max_length=128)
) -> dict[str, Any]:
    return await _in_transaction(  # type: ignore[no-any-return]
        state, lambda session: device_logins.poll(session, session_id, poll_token)
    )


def _answer(tokens: IssuedTokens) -> dict[str, Any]:
    remaining = tokens.expires - dt.datetime.now(dt.UTC)
    return {
        "access_token": tokens.access_token,
        "token_type": "bearer",
        "expires_in": max(0, int(remaining.total_seconds())),
        "expires_at": int(tokens.expires.timestamp()),
        "refresh_token": tokens.refresh_token,
        "user": {"id": str(tokens.user_id), "email": tokens.username},
    }


@router.post("/auth/v1/token", response_model=TokenAnswer, openapi_extra=request_body(TokenCreate))
async def token(
    request: Request, state: StateDep, grant_type: Literal["pkce", "refresh_token"] = Query()
) -> dict[str, Any]:
    """Trade an approved login's code (with the PKCE verifier) or a refresh token for a new access token."""
    body = await json_object(request)
    spans = lifetimes(state.settings.auth)

    def work(session: Session) -> IssuedTokens:
        if grant_type == "pkce":
            return device_logins.exchange_code(session, body, spans)
        return device_logins.refresh(session, body, spans)

    return _answer(await _in_transaction(state, work))
