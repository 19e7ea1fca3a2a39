"""``@fastapi_endpoint``: expose an agent at ``/v1/apps/{app_id}/endpoints/{label}``. The decorator only
records the endpoint row on the function (``@app.agent`` copies it into the manifest, in either decorator
order); the server's gateway enforces the method and the auth mode. The secret for ``header``, ``bearer``
and ``hmac`` is minted by the server under ``ARA_ENDPOINT_<LABEL>_SECRET`` (a name the author may not use)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ara_sdk.validation import DeclarationError, slugify

ENDPOINT_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})
ENDPOINT_AUTH_MODES = frozenset({"none", "header", "bearer", "hmac"})
DEFAULT_SECRET_HEADER = "X-Ara-Endpoint-Secret"
ENDPOINT_ATTR = "__ara_fastapi_endpoint__"
AGENT_ATTR = "__ara_agent__"


def endpoint_row(
    *,
    method: str = "POST",
    path: str = "",
    label: str = "",
    auth: str = "none",
    auth_header_name: str = "",
    auth_secret_env: str = "",
    docs: bool = False,
    default_label: str = "",
) -> dict[str, Any]:
    """The normalised endpoint: label slugified (the function's name by default), path ``/<label>`` by
    default, the auth header and secret variable filled in for the modes that need them."""
    verb = str(method or "POST").strip().upper() or "POST"
    if verb not in ENDPOINT_METHODS:
        raise DeclarationError(f"fastapi_endpoint(method=...) must be one of: {', '.join(sorted(ENDPOINT_METHODS))}")
    slug = slugify(str(label or default_label or "").strip())
    if not slug:
        raise DeclarationError(
            "fastapi_endpoint(...) requires a non-empty label or a function name that can be slugified"
        )
    route = str(path or "").strip()
    route = re.sub(r"/{2,}", "/", route if route.startswith("/") else f"/{route}") if route else f"/{slug}"
    mode = str(auth or "none").strip().lower() or "none"
    if mode not in ENDPOINT_AUTH_MODES:
        raise DeclarationError(f"fastapi_endpoint(auth=...) must be one of: {', '.join(sorted(ENDPOINT_AUTH_MODES))}")
    header = str(auth_header_name or "").strip() or (DEFAULT_SECRET_HEADER if mode == "header" else "")
    secret_env = str(auth_secret_env or "").strip()
    if mode != "none" and not secret_env:
        secret_env = endpoint_secret_env(slug)
    return {
        "type": "fastapi_endpoint",
        "method": verb,
        "path": route,
        "label": slug,
        "docs": bool(docs),
        "auth": {"mode": mode, "header_name": header, "secret_env": secret_env},
    }


def endpoint_secret_env(label: str) -> str:
    """``hook`` -> ``ARA_ENDPOINT_HOOK_SECRET`` (the variable the server mints the secret under)."""
    return f"ARA_ENDPOINT_{label.upper().replace('-', '_')}_SECRET"


def fastapi_endpoint(
    *,
    method: str = "POST",
    path: str = "",
    label: str = "",
    auth: str = "none",
    auth_header_name: str = "",
    auth_secret_env: str = "",
    docs: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        row = endpoint_row(
            method=method,
            path=path,
            label=label,
            auth=auth,
            auth_header_name=auth_header_name,
            auth_secret_env=auth_secret_env,
            docs=docs,
            default_label=fn.__name__,
        )
        setattr(fn, ENDPOINT_ATTR, row)
        agent_row = getattr(fn, AGENT_ATTR, None)
        if isinstance(agent_row, dict):  # ``@fastapi_endpoint`` above ``@app.agent``
            agent_row["fastapi_endpoint"] = dict(row)
        return fn

    return decorator
