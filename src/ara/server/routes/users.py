"""Users under ``/api/v1/users`` (admins only): list, create, change role or activity, delete; passwords are
never returned. The last active admin can be neither removed, demoted nor deactivated (409)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ara.db.types import iso
from ara.errors import ValidationFailed
from ara.playbooks.permissions import require
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.state import AppState
from ara.users import service
from ara.users.models import User
from ara.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"], route_class=OwnRoute)


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "teams": user.teams or [],
        "is_active": user.is_active,
        "created": iso(user.created),
    }


async def _admin(request: Request, state: AppState, work: Any) -> Any:
    def run() -> Any:
        with transaction(request, state) as (session, identity):
            require(session, identity, None, "define")
            return work(session)

    return await run_in_threadpool(run)


@router.get("", response_model=list[UserRead])
async def list_users(request: Request, state: StateDep) -> JSONResponse:
    return JSONResponse(await _admin(request, state, lambda s: [user_dict(u) for u in service.list_users(s)]))


@router.post("", status_code=201, response_model=UserRead, openapi_extra=request_body(UserCreate))
async def create_user(request: Request, state: StateDep) -> JSONResponse:
    body = await json_body(request, default={})
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})

    def work(session: Any) -> dict[str, Any]:
        given = validated(UserCreate, body)  # after the caller is known to be an admin
        user = service.create_user(
            session, username=given.username, password=given.password, role=given.role, teams=given.teams
        )
        return user_dict(user)

    return JSONResponse(await _admin(request, state, work), status_code=201)


@router.delete("/{username}", status_code=204)
async def delete_user(username: Annotated[str, Path(max_length=255)], request: Request, state: StateDep) -> Response:
    await _admin(request, state, lambda s: service.remove_user(s, username))
    state.credentials.forget()
    return Response(status_code=204)


@router.patch("/{username}", response_model=UserRead, openapi_extra=request_body(UserUpdate))
async def update_user(
    username: Annotated[str, Path(max_length=255)], request: Request, state: StateDep
) -> JSONResponse:
    """``{"role": ..., "is_active": ...}``: either or both; applies on the user's next request."""
    body = await json_body(request, default={})
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    unknown = sorted(set(body) - {"role", "is_active"})
    if unknown:
        raise ValidationFailed({field: ["unknown field (role, is_active)"] for field in unknown})
    role, is_active = body.get("role"), body.get("is_active")
    if role is not None and not isinstance(role, str):
        raise ValidationFailed({"role": ["must be a string"]})
    if is_active is not None and not isinstance(is_active, bool):
        raise ValidationFailed({"is_active": ["must be true or false"]})

    def work(session: Any) -> dict[str, Any]:
        return user_dict(service.update_user(session, username, role=role, is_active=is_active))

    return JSONResponse(await _admin(request, state, work))
