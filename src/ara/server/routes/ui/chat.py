"""The chat page (``/ui/chat``) on the user's runtime session: start the session, send a message and read the
answer as it streams (the same turn as ``POST /chat``: ``prepare``, ``TurnRunner`` and its UI-message stream),
tool calls with their arguments and results, earlier chats, the workspace's files. Without JavaScript the form
still works: the turn runs to its end and the page shows the stored chat."""

from __future__ import annotations

from contextlib import aclosing
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.errors import ValidationFailed
from ara.runtime import files
from ara.runtime.agent.conversations import last_messages, recent_conversations
from ara.runtime.agent.request import parse_chat
from ara.runtime.agent.stream import HEADERS
from ara.runtime.agent.turns import Prepared, TurnRunner, prepare
from ara.runtime.models import SESSION_RUNNING, RuntimeSession
from ara.runtime.sessions import active_session, describe, start_session
from ara.runtime.tools.context import context_for
from ara.runtime.workspace import SANDBOX_WORKSPACE
from ara.server.deps import StateDep, transaction
from ara.server.event_stream import EventStream
from ara.server.routes.chat import KEEPALIVE_SECONDS, model_clients, ui_message_stream
from ara.server.routes.ui.chat_transcript import transcript
from ara.server.state import AppState
from ara.server.ui.guards import UserDep
from ara.server.ui.pages import render
from ara.users.service import Identity

router = APIRouter()
#: Messages of a chat the page shows (its end), and chats listed beside it.
SHOWN_MESSAGES = 200
SHOWN_CHATS = 20
ChatId = Annotated[str, Query(max_length=255)]


def workspace_listing(state: AppState, runtime_session: RuntimeSession | None) -> dict[str, Any] | None:
    """The workspace folder's entries (``runtime.files``: the same confinement as ``GET /session/files``)."""
    if runtime_session is None or runtime_session.status != SESSION_RUNNING:
        return None
    return files.list_files(context_for(state.settings, runtime_session), str(SANDBOX_WORKSPACE))


def chat_context(session: Session, state: AppState, user: Identity, chat_id: str) -> dict[str, Any]:
    runtime_session = active_session(session, user.user_id)
    messages = last_messages(session, user.user_id, chat_id, limit=SHOWN_MESSAGES) if chat_id else []
    return {
        "section": "chat",
        "runtime": describe(runtime_session) if runtime_session is not None else None,
        "chat_id": chat_id,
        "items": transcript(messages),
        "chats": recent_conversations(session, user.user_id, limit=SHOWN_CHATS),
        "files": workspace_listing(state, runtime_session),
        "message": "",
        "errors": {},
    }


@router.get("/ui/chat", response_class=HTMLResponse)
def chat_page(request: Request, state: StateDep, user: UserDep, chat: ChatId = "") -> HTMLResponse:
    with transaction(request, state) as (session, _identity):
        return render(request, "chat/page.html", chat_context(session, state, user, chat))


@router.post("/ui/chat/start", response_model=None)
def start(request: Request, state: StateDep, user: UserDep) -> RedirectResponse:
    """As ``POST /session/start``: the running session, or a new one."""
    with transaction(request, state, write=True) as (session, _identity):
        start_session(session, state.settings, user.user_id)
    return RedirectResponse("/ui/chat", status_code=303)


def _prepared(state: AppState, user: Identity, message: str, chat_id: str) -> Prepared:
    """Starts the session if needed (the page's first message needs no separate step), then checks the turn as
    ``POST /chat`` does."""
    chat = parse_chat({"message": message, "conversation_id": chat_id or None})
    with unit_of_work(state.writer) as session:
        start_session(session, state.settings, user.user_id)
    return prepare(state.reader, state.writer, state.settings, user.user_id, chat)


def _refused(
    request: Request, state: AppState, user: Identity, form: dict[str, str], error: ValidationFailed
) -> HTMLResponse:
    """The page again with the message beside the field (400)."""
    with unit_of_work(state.reader) as session:
        context = chat_context(session, state, user, form["chat_id"])
    errors = {"message": [" ".join(messages) for messages in error.detail.values()]}
    context.update(message=form["message"], errors=errors)
    return render(request, "chat/page.html", context, status=400)


@router.post("/ui/chat/turn", response_model=None)
async def turn(
    request: Request,
    state: StateDep,
    user: UserDep,
    message: Annotated[str, Form(max_length=200_000)] = "",
    chat_id: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse | RedirectResponse | EventStream:
    """The page's script asks for ``text/event-stream`` and reads the turn as it streams; a plain form post
    waits for the end and is sent to the stored chat."""
    form = {"message": message, "chat_id": chat_id}
    try:
        prepared = await run_in_threadpool(_prepared, state, user, message, chat_id)
    except ValidationFailed as error:
        return await run_in_threadpool(_refused, request, state, user, form, error)
    runner = TurnRunner(state.writer, state.settings, model_clients(request))
    if "text/event-stream" in request.headers.get("accept", ""):
        headers = {**HEADERS, "x-ara-chat-id": prepared.conversation_id}
        return EventStream(ui_message_stream(runner, prepared), headers=headers, keepalive_seconds=KEEPALIVE_SECONDS)
    async with aclosing(runner.events(prepared)) as events:
        async for _event in events:
            pass  # stored and recorded by the turn; the page reads the stored chat
    return RedirectResponse(f"/ui/chat?chat={quote(prepared.conversation_id, safe='')}", status_code=303)
