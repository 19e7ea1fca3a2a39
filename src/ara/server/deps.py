"""Request dependencies. Handlers open their own unit of work (``transaction``), so the commit happens
before the response is built and a failed commit can never answer 2xx."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.errors import ValidationFailed
from ara.server.auth import SAFE_METHODS, authenticate
from ara.server.middleware import STATE_KEY
from ara.server.state import AppState
from ara.users.service import Identity


async def get_state(request: Request) -> AppState:
    """``async``: FastAPI runs a plain ``def`` dependency in the threadpool, a thread hop per request for an
    attribute read."""
    state: AppState = request.app.state.ara
    return state


StateDep = Annotated[AppState, Depends(get_state)]


class OwnRoute(APIRoute):
    """The route class of Ara's own APIs: they refuse query parameters a handler does not declare (a typo is not
    silently ignored); the records API ignores them, as DRF does. Checked around the handler rather than as a
    dependency, which FastAPI solves at every request (about 70 Python calls) even without a query string."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declared = frozenset(param.alias for param in self.dependant.query_params)  # on the handler itself

        async def checked(request: Request) -> Response:
            if request.scope.get("query_string"):
                unknown = sorted(set(request.query_params) - declared)
                if unknown:
                    raise ValidationFailed({name: ["Unknown query parameter."] for name in unknown})
            return await handler(request)

        return checked


@contextmanager
def transaction(
    request: Request, state: AppState, *, write: bool | None = None
) -> Iterator[tuple[Session, Identity | None]]:
    """One transaction for the request (deferred for reads, immediate for writes) and the caller's identity;
    ``write`` overrides what the method implies (a POST that only checks before it works outside the database)."""
    write = request.method not in SAFE_METHODS if write is None else write
    factory = state.writer if write else state.reader
    caller = getattr(request.state, STATE_KEY, None)  # resolved before routing (ara.server.middleware)
    with unit_of_work(factory) as session:
        yield session, caller.identity if caller is not None else authenticate(request, state, session)
