"""One chat turn of a user, around the loop: find their running session and chat, store the new message, open
the turn's play in the records; then, as the loop runs, store each message and record each tool call in short
transactions of their own (never one held across a model call), and close the play when the turn ends, fails or
is cancelled."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session, sessionmaker

from ara.db.session import unit_of_work
from ara.errors import AraError
from ara.runtime import recording
from ara.runtime.agent.conversations import append_messages, conversation_history, open_conversation
from ara.runtime.agent.events import Event, Failed, Finished, Message, ToolOutput
from ara.runtime.agent.loop import Turn, run_turn
from ara.runtime.agent.prompt import system_prompt
from ara.runtime.agent.providers import Endpoint, ModelClients, ModelRef, endpoint_for, parse_model
from ara.runtime.agent.request import ChatInput
from ara.runtime.models import RuntimeSession, new_conversation_id
from ara.runtime.sessions import owned_session, running_session
from ara.runtime.tools.base import Tool, ToolContext, ToolOutcome
from ara.runtime.tools.builtin import BUILTINS
from ara.runtime.tools.context import context_for
from ara.settings import Settings

logger = logging.getLogger(__name__)
INTERNAL = "internal error: the turn failed (the server's log has the details)"
PLAY_NAME_CHARS = 80


@dataclass
class Prepared:
    """A turn ready to run: everything it needs read and checked. Its writes (the user's message, the turn's play)
    are ``TurnRunner``'s to make, while the model answers (they are not on the turn's critical path)."""

    user_id: int
    runtime_session_id: str
    conversation_id: str
    user_message: dict[str, Any]
    model: ModelRef
    endpoint: Endpoint
    messages: list[dict[str, Any]]
    context: ToolContext
    tools: dict[str, Tool]
    play_id: int | None = None  # once the turn is opened


def prepare(
    reader: sessionmaker[Session], writer: sessionmaker[Session], settings: Settings, user_id: int, chat: ChatInput
) -> Prepared:
    """Checked before anything streams, in one read: the model (400), its provider's key (503), a running session
    (503), the chat being the caller's (404)."""
    model = parse_model(chat.model, settings.runtime)
    endpoint = endpoint_for(model, settings.runtime)
    user_message = {"role": "user", "content": chat.message}
    with unit_of_work(reader) as session:
        runtime_session = owned_session(session, user_id, None)
        history = conversation_history(session, user_id, chat.chat_id)
        context = context_for(settings, runtime_session, writer=writer)
        session_id = runtime_session.id
    tools = dict(BUILTINS)
    today = dt.datetime.now(dt.UTC).date()
    system = {"role": "system", "content": system_prompt(context.workspace, tools.values(), today)}
    return Prepared(
        user_id,
        session_id,
        chat.chat_id or new_conversation_id(),
        user_message,
        model,
        endpoint,
        [system, *history, user_message],
        context,
        tools,
    )


def open_turn(writer: sessionmaker[Session], settings: Settings, prepared: Prepared) -> int:
    """Stores the user's message (creating the chat when new) and opens the turn's play; its id. The session must
    still run and the chat still be the caller's (checked again: the model was called meanwhile)."""
    with unit_of_work(writer) as session:
        runtime_session = running_session(session, prepared.user_id, prepared.runtime_session_id)
        conversation = open_conversation(
            session, user_id=prepared.user_id, chat_id=prepared.conversation_id, session_id=runtime_session.id
        )
        append_messages(session, conversation.id, [prepared.user_message])
        if runtime_session.playbook_id is None:  # the first recording of this session (begin_turn finds it then)
            recording.session_playbook(session, settings, runtime_session)
        return recording.begin_turn(session, runtime_session, name=_play_name(str(prepared.user_message["content"])))


def _play_name(message: str) -> str:
    line = " ".join(message.split())
    return "chat: " + (line if len(line) <= PLAY_NAME_CHARS else line[: PLAY_NAME_CHARS - 1] + "…")


class TurnRunner:
    """Runs a prepared turn, storing and recording as it goes."""

    def __init__(self, writer: sessionmaker[Session], settings: Settings, models: ModelClients) -> None:
        self.writer = writer
        self.settings = settings
        self.models = models

    async def events(self, prepared: Prepared) -> AsyncIterator[Event]:
        turn = Turn(
            client=self.models.client(prepared.endpoint),
            model=prepared.model.name,
            messages=list(prepared.messages),
            tools=prepared.tools,
            context=prepared.context,
            max_turns=self.settings.runtime.max_turns,
            secrets=(prepared.endpoint.api_key,),
        )
        # The turn's writes go on while the model is asked; they are awaited before anything else is stored.
        opening = asyncio.ensure_future(anyio.to_thread.run_sync(open_turn, self.writer, self.settings, prepared))
        pending: list[dict[str, Any]] = []
        ended: Event | None = None
        try:
            async with aclosing(run_turn(turn)) as events:
                async for event in events:
                    if isinstance(event, Failed | Finished):
                        ended = event  # reported once the turn is stored and its play closed
                        break
                    if isinstance(event, Message):
                        pending.append(event.message)
                    elif isinstance(event, ToolOutput):
                        prepared.play_id = await opening
                        await anyio.to_thread.run_sync(self._record, prepared, event.outcome, pending)
                        pending = []
                    yield event
        except AraError as error:  # the turn could not be opened (its session stopped meanwhile, say)
            ended = Failed(error.message)
        except Exception:
            logger.exception("chat turn of session %s failed", prepared.runtime_session_id)
            ended = Failed(INTERNAL)
        finally:
            # Also when the client went away (cancelled): the play must not stay "running".
            with anyio.CancelScope(shield=True):
                failed = not isinstance(ended, Finished)
                try:
                    prepared.play_id = await asyncio.shield(opening)
                except AraError as error:
                    ended = Failed(error.message)  # nothing was stored: nothing to close
                except Exception:
                    logger.exception("chat turn of session %s could not be opened", prepared.runtime_session_id)
                    ended = Failed(INTERNAL)
                else:
                    await anyio.to_thread.run_sync(self._finish, prepared, pending, failed)
        if ended is not None:
            yield ended

    def _record(self, prepared: Prepared, outcome: ToolOutcome, messages: list[dict[str, Any]]) -> None:
        with unit_of_work(self.writer) as session:
            append_messages(session, prepared.conversation_id, messages)
            runtime_session = session.get(RuntimeSession, prepared.runtime_session_id)
            if runtime_session is not None:
                recording.record_tool_call(
                    session,
                    runtime_session,
                    outcome,
                    play_id=prepared.play_id,
                    secrets=tuple(prepared.context.secrets.values()),
                )

    def _finish(self, prepared: Prepared, messages: list[dict[str, Any]], failed: bool) -> None:
        assert prepared.play_id is not None
        with unit_of_work(self.writer) as session:
            append_messages(session, prepared.conversation_id, messages)
            recording.end_turn(session, prepared.play_id, failed=failed)
