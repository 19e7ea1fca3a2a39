"""Starting an app run, finding it again, waiting for it, and what the API says of it.

OWNED BY the runs part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.apps.models import App, AppRun
from ara.settings import Settings


def start_run(
    session: Session,
    settings: Settings,
    app: App,
    *,
    agent_id: str | None,
    input: dict[str, Any],
    trigger: str,
    run_id: str | None = None,
    idempotency_key: str | None = None,
    response_mode: str = "sync",
    callback: dict[str, Any] | None = None,
    key_id: str | None = None,
    user_id: int | None = None,
    warmup: bool = False,
) -> tuple[AppRun, bool]:
    """A new run made due on the engine's ``agents`` queue in this transaction, or (``created`` False) the run
    an earlier call with the same ``idempotency_key`` (or ``run_id``) started. ``agent_id`` None: the default
    agent; an unknown agent is NotFound."""
    raise NotImplementedError


def wait_for_end(reader: sessionmaker[Session], run_pk: str, timeout: float) -> AppRun:
    """The run once it has ended, or as it is when ``timeout`` seconds have passed."""
    raise NotImplementedError


def describe_run(run: AppRun) -> dict[str, Any]:
    """``{ok, run_id, status, agent_id, result: {output_text, tool_calls} | None, error, created_at, ...}``."""
    raise NotImplementedError
