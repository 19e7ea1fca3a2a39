"""Who is looking at a page, and may they: the same ``Identity`` (and roles) the API uses. A page that needs a
login raises ``LoginRequired``, which the error handlers turn into a redirect to the login form; records pages
follow ``auth.read_login_required``, as the records API does."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ara.errors import Unauthenticated
from ara.server.deps import get_state
from ara.server.middleware import STATE_KEY
from ara.server.state import AppState
from ara.users.service import Identity


class LoginRequired(Unauthenticated):
    """A page that needs a login was asked for anonymously (or the login expired)."""

    def __init__(self) -> None:
        super().__init__("Log in to see this page.")


def caller_identity(request: Request) -> Identity | None:
    """Resolved by ``AuthenticationMiddleware`` from the login cookie (or an Authorization header)."""
    caller = getattr(request.state, STATE_KEY, None)
    return caller.identity if caller is not None else None


# The dependencies are ``async``: FastAPI runs a plain ``def`` dependency in the threadpool, a thread hop per request.
async def page_identity(request: Request) -> Identity | None:
    return caller_identity(request)


async def require_user(request: Request) -> Identity:
    identity = caller_identity(request)
    if identity is None:
        raise LoginRequired()
    return identity


async def records_reader(request: Request, state: Annotated[AppState, Depends(get_state)]) -> Identity | None:
    """Records pages are open where the records API is (``auth.read_login_required`` false, ARA's default)."""
    identity = caller_identity(request)
    if identity is None and state.settings.auth.read_login_required:
        raise LoginRequired()
    return identity


UserDep = Annotated[Identity, Depends(require_user)]
MaybeUserDep = Annotated[Identity | None, Depends(page_identity)]
RecordsReaderDep = Annotated[Identity | None, Depends(records_reader)]
