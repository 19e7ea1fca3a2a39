"""What a session's tool runs with: its workspace, the sandbox chosen for this server, and its network policy
(the session may have it only when the server's settings allow it)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ara.runtime.models import RuntimeSession
from ara.runtime.sandbox.select import choose_sandbox
from ara.runtime.sessions import workspace_of
from ara.runtime.tools.base import ToolContext
from ara.settings import Settings


def context_for(
    settings: Settings, runtime_session: RuntimeSession, *, writer: sessionmaker[Session] | None = None
) -> ToolContext:
    """``writer``: the database, for the tools that keep rows (``automation_*``)."""
    return ToolContext(
        session_id=runtime_session.id,
        user_id=runtime_session.user_id,
        workspace=workspace_of(settings, runtime_session),
        sandbox=choose_sandbox(settings.runtime),
        settings=settings.runtime,
        network=bool(runtime_session.network and settings.runtime.network),
        writer=writer,
    )
