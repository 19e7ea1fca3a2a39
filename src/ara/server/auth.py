"""Who is calling (HTTP basic, password verified once then cached; or a bearer token) and may they call this
path at all, decided before the request body is read (``ara.server.middleware``).

- ``/healthcheck``, the CLI's browser login (``/auth/cli/config``, ``/auth/cli/device/...``, ``/auth/v1/token``),
  ``/playbook/webhook/...`` (webhooks check their own credentials), ``/session/ssh/proxy``
  (a proxy token, checked by the SSH bridge) and ``/v1/apps/...`` (an app key or an endpoint's own auth, checked
  by those routes: ``ara.apps.access.invoke_caller``) are never checked here.
- Ara's own surfaces (``/playbook...``, ``/artifacts/...``, ``/api/v1/catalog``, ``/api/v1/users``, the runtime's
  ``/session...``, ``/chat``, ``/v1/chat``, ``/automations...`` and the SDK's ``/auth/cli/whoami`` and
  control plane ``/apps...``) always need a login; the routes then check the role, grant or owner for what is asked.
- Everything else (the records API ``/api/v1``, its index ``/api``, ``/openapi.json``, ``/docs``) is open
  unless ``read_login_required`` / ``write_login_required`` say otherwise, as in ARA. A write to the records
  API by a known user needs ``RECORD_WRITER`` (operator) or above: a viewer is refused with 403, while an
  anonymous write is accepted where ``write_login_required`` is false (ARA's default).
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from ara.apps import run_keys
from ara.errors import PermissionDenied, Unauthenticated
from ara.playbooks.permissions import RANK
from ara.server.state import AppState
from ara.users.service import Identity

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
NO_CREDENTIALS = "Authentication credentials were not provided."
BAD_CREDENTIALS = "Invalid username/password."
RUN_KEY_ELSEWHERE = "an app run's key is accepted only on the playbook-run routes"


def identify(
    state: AppState,
    db: Session | Connection,
    authorization: str | None,
    *,
    run_keys_allowed: bool = False,
    slow_ok: bool = True,
) -> Identity | None:
    """The caller's identity, ``None`` when no credentials were sent; bad credentials raise. An app run's key is
    accepted only with ``run_keys_allowed`` (the HTTP middleware, which then ``admit``s it to its few paths): anywhere
    else (WebSockets, routes the middleware skips) it would act as the app's owner without that limit."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            username, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("Invalid basic header. Credentials not correctly base64 encoded.") from None
        identity = state.credentials.check_password(db, username, password, slow_ok=slow_ok)
    elif scheme in ("bearer", "token"):
        token = value.strip()
        if token.startswith(run_keys.PREFIX):  # an app run's key, for its tools' calls to the playbook API
            if not run_keys_allowed:
                raise Unauthenticated(RUN_KEY_ELSEWHERE)
            identity = run_keys.identify(db, state.engine_context.box, token)
        else:
            identity = state.credentials.check_token(db, token)
    else:
        return None
    if identity is None:
        raise Unauthenticated(BAD_CREDENTIALS)
    return identity


def login_required(state: AppState, method: str) -> bool:
    auth = state.settings.auth
    return auth.read_login_required if method in SAFE_METHODS else auth.write_login_required


def authenticate(request: Request, state: AppState, session: Session) -> Identity | None:
    """Checks credentials when sent (a wrong password is refused even where login is optional)."""
    identity = identify(state, session, request.headers.get("authorization"))
    if identity is None and login_required(state, request.method):
        raise Unauthenticated(NO_CREDENTIALS)
    return identity


RECORD_WRITER = "operator"
# ``/session/ssh/proxy`` carries a proxy token, which the SSH bridge checks itself; the apps' invoke routes and
# endpoints (``/v1/apps/...``) carry an app key or the endpoint's own auth, which their routes check.
# The CLI's browser login (``/auth/cli/config``, ``/auth/cli/device/...``, ``/auth/v1/token``) carries its own
# credentials: a poll token, a PKCE verifier, a refresh token (``ara.server.routes.device_auth``).
UNCHECKED = (
    "/healthcheck",
    "/playbook/webhook/",
    "/session/ssh/proxy",
    "/v1/apps/",
    "/auth/cli/config",
    "/auth/cli/device/",
    "/auth/v1/",
)
ALWAYS_LOGIN = (
    "/playbook",
    "/artifacts",
    "/api/v1/catalog",
    "/api/v1/users",
    # The agent runtime and the ``ara-sdk`` CLI's key routes: a user key (bearer) or a password.
    "/session",
    "/chat",
    "/v1/chat",
    "/automations",
    "/auth/cli/whoami",
    "/apps",
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix.rstrip("/") or path.startswith(prefix.rstrip("/") + "/")


def checked(path: str) -> bool:
    """False where this module does not look at credentials at all."""
    return not any(_under(path, prefix) for prefix in UNCHECKED)


def admit(state: AppState, method: str, path: str, identity: Identity | None) -> None:
    """Raise ``Unauthenticated`` or ``PermissionDenied`` when the caller may not call ``method path``."""
    if identity is not None and identity.app_id is not None and not run_keys.admitted(method, path):
        raise PermissionDenied("an app run's key may only start, read, list and cancel playbook runs")
    if any(_under(path, prefix) for prefix in ALWAYS_LOGIN):
        if identity is None:
            raise Unauthenticated(NO_CREDENTIALS)
        return
    if identity is None:
        if login_required(state, method):
            raise Unauthenticated(NO_CREDENTIALS)
        return
    if method not in SAFE_METHODS and _under(path, "/api") and RANK.get(identity.role, -1) < RANK[RECORD_WRITER]:
        raise PermissionDenied(f"{identity.username} ({identity.role}) may not write records: {RECORD_WRITER} or above")
