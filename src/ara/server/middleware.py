"""Authenticate first: a pure ASGI middleware resolves the caller before routing, so a request without (or
with wrong) credentials is answered 401, and a viewer's records write 403, before its body is read or
validated. Routes find the identity in ``request.state`` (see ``ara.server.deps.transaction``)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ara.db.session import unit_of_work
from ara.errors import AraError
from ara.server.auth import admit, checked, identify
from ara.server.errors import error_response
from ara.server.state import AppState
from ara.users.service import Identity

STATE_KEY = "ara_caller"


@dataclass(frozen=True)
class Caller:
    """What the middleware found: ``identity`` is None for an anonymous caller who was let through."""

    identity: Identity | None


def resolve(state: AppState, authorization: str | None, *, run_keys_allowed: bool = False) -> Identity | None:
    """One short read transaction (the user's row); bad credentials raise ``Unauthenticated``. App run keys only
    with ``run_keys_allowed``: the middleware, which ``admit``s them right after."""
    if not authorization:
        return None
    with unit_of_work(state.reader) as session:
        return identify(state, session, authorization, run_keys_allowed=run_keys_allowed)


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not checked(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        authorization = request.headers.get("authorization")
        try:
            identity = (
                await run_in_threadpool(resolve, self.state, authorization, run_keys_allowed=True)
                if authorization
                else None
            )
            admit(self.state, scope["method"], scope["path"], identity)
        except AraError as error:
            await error_response(request, error)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = Caller(identity)
        await self.app(scope, receive, send)
