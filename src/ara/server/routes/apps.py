"""The ``ara-sdk`` control plane (user key; ``/apps`` always needs a login): deploy and read apps, their secrets,
runtime and header keys, setup and invites. An app you hold no role on is 404; a role too weak is 403."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from ara.apps import invites, keys, schemas, secrets_store, service
from ara.apps.access import app_for_member, role_of
from ara.apps.setup import setup_info
from ara.errors import Unauthenticated
from ara.server.auth import NO_CREDENTIALS
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_object
from ara.server.state import AppState
from ara.users.service import Identity

router = APIRouter(prefix="/apps", tags=["apps"], route_class=OwnRoute)
AppId = Annotated[str, Path(max_length=64)]
Name = Annotated[str, Path(max_length=255)]
EDITOR = service.EDITOR
DEFAULT_RPM = {keys.RUNTIME: 60, keys.HEADER: 30}


async def _work(request: Request, state: AppState, work: Callable[[Session, Identity], Any]) -> Any:
    """``work(session, identity)`` in one transaction, in a worker thread."""

    def run() -> Any:
        with transaction(request, state) as (session, identity):
            if identity is None:
                raise Unauthenticated(NO_CREDENTIALS)
            return work(session, identity)

    return await run_in_threadpool(run)


# -- apps -----------------------------------------------------------------------------------------------------
@router.get("", response_model=schemas.AppsList)
async def list_apps(request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, who: Identity) -> dict[str, Any]:
        return {"apps": [service.summary(app, role) for app, role in service.list_apps(session, who.user_id)]}

    return JSONResponse(await _work(request, state, work))


@router.post("", status_code=201, response_model=schemas.AppAnswer, openapi_extra=request_body(schemas.AppCreate))
async def create_app(request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)
    box = state.engine_context.box

    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = service.create_app(session, state.settings, box, who.user_id, body)
        return {"app": service.describe(app, "owner")}

    return JSONResponse(await _work(request, state, work), status_code=201)


@router.post("/invites/accept", response_model=schemas.InviteAccepted, openapi_extra=request_body(schemas.InviteAccept))
async def accept_invite(request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)

    def work(session: Session, who: Identity) -> dict[str, Any]:
        row, role = invites.accept_invite(session, body.get("token"), who.user_id, who.username)
        return {"ok": True, "app_id": row.app_id, "role": role}

    return JSONResponse(await _work(request, state, work))


@router.get("/{app_id}", response_model=schemas.AppRead)
async def get_app(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id)
        return service.describe(app, role_of(session, app.id, who.user_id) or "")

    return JSONResponse(await _work(request, state, work))


@router.patch("/{app_id}", response_model=schemas.AppAnswer, openapi_extra=request_body(schemas.AppUpdate))
async def update_app(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)
    box = state.engine_context.box

    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = service.update_app(session, state.settings, box, who.user_id, app_id, body)
        return {"app": service.describe(app, role_of(session, app.id, who.user_id) or "")}

    return JSONResponse(await _work(request, state, work))


# -- secrets --------------------------------------------------------------------------------------------------
@router.post("/{app_id}/secrets", response_model=schemas.SecretAnswer, openapi_extra=request_body(schemas.SecretPut))
async def put_secret(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)
    box = state.engine_context.box

    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        return {"secret": secrets_store.describe_secret(secrets_store.put_secret(session, box, app.id, body))}

    return JSONResponse(await _work(request, state, work))


@router.get("/{app_id}/secrets", response_model=schemas.SecretsList)
async def list_secrets(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        return {"secrets": [secrets_store.describe_secret(row) for row in secrets_store.list_secrets(session, app.id)]}

    return JSONResponse(await _work(request, state, work))


@router.delete("/{app_id}/secrets/{name}", status_code=204)
async def delete_secret(app_id: AppId, name: Name, request: Request, state: StateDep) -> Response:
    def work(session: Session, who: Identity) -> None:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        secrets_store.delete_secret(session, app.id, name)

    await _work(request, state, work)
    return Response(status_code=204)


# -- keys -----------------------------------------------------------------------------------------------------
async def _mint(request: Request, state: AppState, app_id: str, kind: str) -> JSONResponse:
    body = await json_object(request)

    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        name, rpm = keys.parse_key_body(body, default_name=f"{app.slug}-{kind}", default_rpm=DEFAULT_RPM[kind])
        key, row = keys.mint(session, app.id, kind, name=name, rpm=rpm, user_id=who.user_id)
        return {**keys.describe(row), "key": key}

    return JSONResponse(await _work(request, state, work), status_code=201)


@router.post(
    "/{app_id}/keys", status_code=201, response_model=schemas.KeyMinted, openapi_extra=request_body(schemas.KeyCreate)
)
async def create_runtime_key(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    """A runtime key (``Authorization: Bearer`` on the invoke routes), shown once."""
    return await _mint(request, state, app_id, keys.RUNTIME)


@router.get("/{app_id}/keys", response_model=schemas.KeysList)
async def list_runtime_keys(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    return await _list_keys(request, state, app_id, keys.RUNTIME)


@router.post(
    "/{app_id}/x-keys", status_code=201, response_model=schemas.KeyMinted, openapi_extra=request_body(schemas.KeyCreate)
)
async def create_header_key(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    """A header key (``X-Ara-App-Key`` on the invoke routes), shown once."""
    return await _mint(request, state, app_id, keys.HEADER)


@router.get("/{app_id}/x-keys", response_model=schemas.KeysList)
async def list_header_keys(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    return await _list_keys(request, state, app_id, keys.HEADER)


async def _list_keys(request: Request, state: AppState, app_id: str, kind: str) -> JSONResponse:
    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        return {"keys": [keys.describe(row) for row in keys.list_keys(session, app.id, kind)]}

    return JSONResponse(await _work(request, state, work))


@router.delete("/{app_id}/x-keys/{key_id}", response_model=schemas.KeyDeactivated)
async def deactivate_header_key(app_id: AppId, key_id: Name, request: Request, state: StateDep) -> JSONResponse:
    return await _deactivate(request, state, app_id, key_id, keys.HEADER)


@router.delete("/{app_id}/keys/{key_id}", response_model=schemas.KeyDeactivated)
async def deactivate_runtime_key(app_id: AppId, key_id: Name, request: Request, state: StateDep) -> JSONResponse:
    return await _deactivate(request, state, app_id, key_id, keys.RUNTIME)


async def _deactivate(request: Request, state: AppState, app_id: str, key_id: str, kind: str) -> JSONResponse:
    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        return {"ok": True, "key": keys.describe(keys.deactivate(session, app.id, key_id, kind))}

    return JSONResponse(await _work(request, state, work))


# -- setup and invites ----------------------------------------------------------------------------------------
@router.get("/{app_id}/setup", response_model=schemas.SetupRead)
async def get_setup(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    box = state.engine_context.box
    base_url = str(request.base_url)

    def work(session: Session, who: Identity) -> dict[str, Any]:
        return setup_info(session, box, app_for_member(session, app_id, who.user_id, EDITOR), base_url)

    return JSONResponse(await _work(request, state, work))


@router.post(
    "/{app_id}/invites",
    status_code=201,
    response_model=schemas.InviteAnswer,
    openapi_extra=request_body(schemas.InviteCreate),
)
async def create_invite(app_id: AppId, request: Request, state: StateDep) -> JSONResponse:
    body = await json_object(request)
    base = str(request.base_url).rstrip("/")

    def work(session: Session, who: Identity) -> dict[str, Any]:
        app = app_for_member(session, app_id, who.user_id, EDITOR)
        token, row = invites.create_invite(session, app, who.user_id, body)
        # The page a person opens (``/ui/invites/...``); ``POST /apps/invites/accept`` still takes the token.
        return {"invite": invites.describe(row, token, f"{base}/ui/invites/{token}")}

    return JSONResponse(await _work(request, state, work), status_code=201)
