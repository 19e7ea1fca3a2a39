"""Every failure of a command ends the same way: one line on stderr and exit code 2, never a traceback.

Set ``ARA_CLI_DEBUG=1`` to see the traceback of an unexpected error (and the server's log in offline mode).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import urlsplit

import typer

from ara.clients.errors import (
    ApiError,
    ApiNotFound,
    BadRequest,
    ConnectError,
    Forbidden,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from ara.errors import AraError

EXIT_ERROR = 2

# Click's own exceptions (usage errors, Exit, Abort) carry their exit code: let them through untouched.
_CLICK_BASE = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, typer.Abort, _CLICK_BASE)

_SINGULAR = {
    "playbooks": "playbook",
    "plays": "play",
    "tasks": "task",
    "hosts": "host",
    "latesthosts": "latest host",
    "results": "result",
    "records": "record",
    "files": "file",
    "labels": "label",
}


def fail(text: str) -> NoReturn:
    typer.echo(f"Error: {text}", err=True)
    raise typer.Exit(EXIT_ERROR)


def fail_usage(text: str) -> NoReturn:
    """A bad option value found after parsing (an environment variable, two exclusive flags)."""
    fail(text)


def debugging() -> bool:
    return os.environ.get("ARA_CLI_DEBUG", "").lower() in ("1", "true", "yes")


def _quiet_server_log() -> None:
    # The offline client runs the server in this process; its error log would print a traceback.
    logger = logging.getLogger("ara")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def describe(url: str) -> str:
    """``http://h/api/v1/playbooks/42`` -> ``playbook 42``."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api" and parts[2] == "catalog":
        return f"{parts[3].rstrip('s')} {parts[4]}" if len(parts) > 4 else f"{parts[3]}"
    if len(parts) >= 3 and parts[0] == "api":
        noun = _SINGULAR.get(parts[2], parts[2])
        return f"{noun} {parts[3]}" if len(parts) > 3 else noun
    return url


def field_errors(body: Any) -> str:
    """DRF-shaped 400 bodies (``{"status": ["Select a valid choice..."]}``) and the playbook API's
    ``{"error": {"message", "detail"}}`` as one line."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        detail = error.get("detail")
        if isinstance(detail, dict) and detail:
            return field_errors(detail)
        return str(error.get("message") or error.get("code"))
    if isinstance(body, dict):
        return "; ".join(
            f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}" for key, value in body.items()
        )
    return str(body)


def missing_package(exc: ModuleNotFoundError) -> str:
    """The base install (``pip install ara-platform``) has the clients, ``ara auth`` and ``ara runtime``; the
    server, the offline client and the admin commands need the ``server`` extra."""
    return f"this command needs the server's packages (no module {exc.name!r}): pip install 'ara-platform[server]'"


def explain(exc: BaseException) -> str:
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        return missing_package(exc)
    if isinstance(exc, ApiNotFound):
        if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
            return field_errors(exc.body)
        return f"{describe(exc.url)} not found"
    if isinstance(exc, BadRequest):
        return f"the API refused the request: {field_errors(exc.body)}"
    if isinstance(exc, Unauthorized):
        return f"the API wants a login ({field_errors(exc.body)}): pass --username/--password or --token"
    if isinstance(exc, Forbidden):
        return f"permission denied ({field_errors(exc.body)})"
    if isinstance(exc, ServerError):
        return f"the API server failed with {exc.status_code} on {exc.method} {describe(exc.url)}"
    if isinstance(exc, ApiError):
        return f"the API answered {exc.status_code}: {field_errors(exc.body)}"
    if isinstance(exc, Timeout):
        return f"the API server did not answer in time ({exc.message})"
    if isinstance(exc, ConnectError | TransportError):
        return exc.message
    if isinstance(exc, AraError):
        return exc.message
    first_line = (str(exc).strip().splitlines() or [""])[0]
    if type(exc).__module__.startswith("sqlalchemy"):
        # The offline client and the admin commands open the database themselves.
        return f"database error: {first_line}"
    if isinstance(exc, ValueError | OSError):
        return first_line
    return f"unexpected {type(exc).__name__}: {first_line} (set ARA_CLI_DEBUG=1 for details)"


@contextmanager
def errors_handled() -> Iterator[None]:
    if not debugging():
        _quiet_server_log()
    try:
        yield
    except _PASS_THROUGH:
        raise
    except Exception as exc:
        if debugging() and not isinstance(exc, AraError):
            raise
        fail(explain(exc))
