"""What the ``ara-sdk`` CLI asks about its user key: ``GET /auth/cli/whoami`` (``ara auth login --api-key``,
``ara auth whoami``) and ``POST /apps/api-key/rotate`` (``ara auth rotate``). A user key is an Ara bearer token;
both routes always need a login (``ara.server.auth.ALWAYS_LOGIN``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from ara.errors import Unauthenticated
from ara.server.auth import NO_CREDENTIALS
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.users.service import mint_token, revoke_token

router = APIRouter(tags=["auth"], route_class=OwnRoute)
ROTATED_NAME = "api-key"


class WhoamiUser(BaseModel):
    id: int
    email: str
    username: str
    role: str


class WhoamiRead(BaseModel):
    ok: bool
    user: WhoamiUser


class RotatedKey(BaseModel):
    api_key: str
    key_prefix: str
    key_identifier: str


def _bearer(request: Request) -> str:
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") else ""


@router.get("/auth/cli/whoami", response_model=WhoamiRead)
def whoami(request: Request, state: StateDep) -> dict[str, Any]:
    with transaction(request, state) as (_session, identity):
        if identity is None:
            raise Unauthenticated(NO_CREDENTIALS)
        user = {"id": identity.user_id, "email": identity.username, "username": identity.username}
        return {"ok": True, "user": {**user, "role": identity.role}}


@router.post("/apps/api-key/rotate", response_model=RotatedKey)
def rotate_api_key(request: Request, state: StateDep) -> dict[str, str]:
    """A new user key for the caller; the bearer key presented (if one was) is revoked in the same transaction,
    so it is refused from the next request on. A caller using a password keeps their other keys."""
    with transaction(request, state) as (session, identity):
        if identity is None:
            raise Unauthenticated(NO_CREDENTIALS)
        presented = _bearer(request)
        old = revoke_token(session, identity.user_id, presented) if presented else None
        token, row = mint_token(session, identity.user_id, old.name if old is not None else ROTATED_NAME)
        return {"api_key": token, "key_prefix": token[:8], "key_identifier": str(row.id)}
