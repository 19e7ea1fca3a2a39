"""The chat turn an automation run fires: in the owner's runtime session (started if none runs), with the job's
message, through the same preparation and runner as ``POST /chat`` (so it is stored as a conversation and
recorded as a play with its tool calls); what it answers is the run's output.

The engine calls this from a worker thread, which has no event loop: the turn gets one of its own."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import anyio
from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import unit_of_work
from ara.errors import ModelFailed
from ara.runtime.agent.events import Answer
from ara.runtime.agent.providers import ModelClients
from ara.runtime.agent.request import ChatInput
from ara.runtime.agent.turns import Prepared, TurnRunner, prepare
from ara.runtime.sessions import start_session
from ara.settings import Settings


def agent_turn(
    settings: Settings,
    reader: sessionmaker[Session],
    writer: sessionmaker[Session],
    user_id: int,
    payload: dict[str, Any],
    aborted: Callable[[], bool],
) -> dict[str, Any]:
    """``{text, tool_calls, conversation_id}`` of one turn with ``payload["message"]``; a turn that fails (the
    model's provider refused or was unreachable) raises ``ModelFailed`` with the reason."""
    with unit_of_work(writer) as session:
        start_session(session, settings, user_id)
    model = payload.get("model")
    chat = ChatInput(str(payload["message"]), model if isinstance(model, str) and model else None, None)
    prepared = prepare(reader, writer, settings, user_id, chat)
    answer = anyio.run(_collect, writer, settings, prepared, aborted)
    if answer.error:
        raise ModelFailed(answer.error)
    output: dict[str, Any] = {"text": answer.text, "tool_calls": answer.tool_calls}
    if answer.reasoning:
        output["reasoning"] = answer.reasoning
    output["conversation_id"] = prepared.conversation_id
    return output


async def _collect(
    writer: sessionmaker[Session], settings: Settings, prepared: Prepared, aborted: Callable[[], bool]
) -> Answer:
    answer = Answer()
    clients = ModelClients()
    try:
        async with aclosing(TurnRunner(writer, settings, clients).events(prepared)) as events:
            async for event in events:
                answer.add(event)
                if aborted():  # the run was cancelled, or its worker stops: no further tool runs
                    answer.error = answer.error or "the run was stopped during its turn"
                    break
    finally:
        await clients.close()
    return answer
