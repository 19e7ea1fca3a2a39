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
from ara.server.ui.cookies import SESSION_COOKIE
from ara.server.ui.paths import is_static_path, is_ui_path
from ara.users.service import Identity, SlowCheckNeeded
from ara.users.web_sessions import web_session_identity

STATE_KEY = "ara_caller"


@dataclass(frozen=True)
class Caller:
    """What the middleware found: ``identity`` is None for an anonymous caller who was let through."""

    identity: Identity | None


def resolve(
    state: AppState, authorization: str | None, *, run_keys_allowed: bool = False, slow_ok: bool = True
) -> Identity | None:
    """One short read transaction (the user's row); bad credentials raise ``Unauthenticated``. App run keys only
    with ``run_keys_allowed``: the middleware, which ``admit``s them right after. ``slow_ok=False``: see
    ``CredentialChecker.check_password``."""
    if not authorization:
        return None
    with state.engine.connect() as connection:  # one read, no objects: a connection costs less than a session
        return identify(state, connection, authorization, run_keys_allowed=run_keys_allowed, slow_ok=slow_ok)


async def resolve_soon(state: AppState, authorization: str) -> Identity | None:
    """``resolve`` for the middleware: on the event loop where reads may run there (``AppState.reads_inline``)
    and no argon2 verification is needed (the password was verified a moment ago), else in the threadpool."""
    if state.reads_inline:
        try:
            return resolve(state, authorization, run_keys_allowed=True, slow_ok=False)
        except SlowCheckNeeded:
            pass
    return await run_in_threadpool(resolve, state, authorization, run_keys_allowed=True)


def resolve_page_caller(state: AppState, authorization: str | None, cookie: str | None) -> Identity | None:
    """A web UI page's caller: an Authorization header as on the API, else the login cookie (an unknown or
    expired cookie is simply anonymous: the page then asks for a login)."""
    if authorization:
        return resolve(state, authorization)
    if not cookie:
        return None
    with unit_of_work(state.reader) as session:
        return web_session_identity(session, cookie)


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
        if is_ui_path(scope["path"]):
            await self._page(request, scope, receive, send)
            return
        try:
            identity = await resolve_soon(self.state, authorization) if authorization else None
            admit(self.state, scope["method"], scope["path"], identity)
        except AraError as error:
            await error_response(request, error)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = Caller(identity)
        await self.app(scope, receive, send)

    async def _page(self, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        """UI pages decide themselves (``ara.server.ui.guards``): a login form instead of a 401. The login cookie
        counts only here, never on the API's paths. Static files need nobody."""
        identity = None
        if not is_static_path(scope["path"]):
            try:
                identity = await run_in_threadpool(
                    resolve_page_caller,
                    self.state,
                    request.headers.get("authorization"),
                    request.cookies.get(SESSION_COOKIE),
                )
            except AraError as error:
                await error_response(request, error)(scope, receive, send)
                return
        scope.setdefault("state", {})[STATE_KEY] = Caller(identity)
        await self.app(scope, receive, send)
