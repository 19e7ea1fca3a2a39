"""The chat turn an automation run fires: in the owner's runtime session (started if none runs), with the job's
message, through the agent loop; what it answers is the run's output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import unit_of_work
from ara.errors import Unavailable
from ara.runtime.sessions import start_session
from ara.settings import Settings


def agent_turn(
    settings: Settings,
    writer: sessionmaker[Session],
    user_id: int,
    payload: dict[str, Any],
    aborted: Callable[[], bool],
) -> dict[str, Any]:
    """``{text, tool_calls}`` of one turn with ``payload["message"]``; raises when the turn fails."""
    with unit_of_work(writer) as session:
        session_id = start_session(session, settings, user_id).id
    return chat_turns_unavailable(session_id, str(payload["message"]))


def chat_turns_unavailable(session_id: str, message: str) -> dict[str, Any]:
    raise Unavailable("chat turns are not available")
