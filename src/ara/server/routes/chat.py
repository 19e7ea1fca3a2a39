"""``POST /chat``: a chat turn in the caller's running session, streamed as the Vercel AI SDK UI-message stream
(what ara-sdk's ``chat()`` and the UI read) as the model produces it; ``POST /v1/chat``: the same turn answered
as one JSON ``{text, tool_calls, reasoning?, conversation_id}``.

Everything that can refuse the turn (body, model, provider key, no running session, someone else's chat) is
checked before the stream starts, so it is an ordinary 4xx/5xx answer. Once streaming, a failure is an ``error``
event. A client that goes away cancels the turn (the model's response is closed, no further tool runs)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from ara.errors import AraError, ModelFailed, Unauthenticated
from ara.runtime.agent.events import Answer, Failed
from ara.runtime.agent.providers import ModelClients
from ara.runtime.agent.request import parse_chat
from ara.runtime.agent.schemas import ChatTurnCreate, ChatTurnRead
from ara.runtime.agent.stream import HEADERS, MEDIA_TYPE, UIMessageStream
from ara.runtime.agent.turns import INTERNAL, Prepared, TurnRunner, prepare
from ara.server.auth import NO_CREDENTIALS
from ara.server.deps import OwnRoute, StateDep
from ara.server.event_stream import EventStream
from ara.server.middleware import STATE_KEY
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body
from ara.server.state import AppState
from ara.users.service import Identity

logger = logging.getLogger(__name__)
router = APIRouter(tags=["runtime"], route_class=OwnRoute)
# An idle stream (a slow model, a long tool) gets an SSE comment this often: ara-sdk's ``chat()`` gives up after
# 120 s without a line, proxies often sooner.
KEEPALIVE_SECONDS = 15.0
# Each event of the stream: ``data`` is a UI-message chunk as JSON ({"type": "text-delta", ...}), the last one
# ``[DONE]``.
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "the Vercel AI SDK UI-message stream", "content": {MEDIA_TYPE: {"schema": SSE_EVENT}}}
}


def _identity(request: Request) -> Identity:
    caller = getattr(request.state, STATE_KEY, None)
    if caller is None or caller.identity is None:
        raise Unauthenticated(NO_CREDENTIALS)
    identity: Identity = caller.identity
    return identity


def model_clients(request: Request) -> ModelClients:
    clients: ModelClients = request.app.state.model_clients
    return clients


async def _prepare(request: Request, state: AppState) -> tuple[TurnRunner, Prepared]:
    identity = _identity(request)
    chat = parse_chat(await json_body(request))
    prepared = await run_in_threadpool(prepare, state.reader, state.writer, state.settings, identity.user_id, chat)
    return TurnRunner(state.writer, state.settings, model_clients(request)), prepared


async def ui_message_stream(runner: TurnRunner, prepared: Prepared) -> AsyncIterator[str]:
    """The turn as the UI-message stream (also the web UI's chat page's, ``ara.server.routes.ui.chat``)."""
    stream = UIMessageStream(prepared.conversation_id)
    yield stream.start()
    try:
        async with aclosing(runner.events(prepared)) as events:
            async for event in events:
                chunk = stream.encode(event)
                if chunk:
                    yield chunk
    except Exception:
        logger.exception("chat stream of turn %s failed", prepared.play_id)
        yield stream.encode(Failed(INTERNAL))
    yield stream.finish()


@router.post(
    "/chat", response_class=StreamingResponse, responses=STREAM_RESPONSE, openapi_extra=request_body(ChatTurnCreate)
)
async def chat(request: Request, state: StateDep) -> EventStream:
    runner, prepared = await _prepare(request, state)
    headers = {**HEADERS, "x-ara-chat-id": prepared.conversation_id}
    return EventStream(ui_message_stream(runner, prepared), headers=headers, keepalive_seconds=KEEPALIVE_SECONDS)


async def _until_disconnect(request: Request, work: Callable[[], Awaitable[None]]) -> None:
    """Runs ``work``, cancelled if the client disconnects first (a plain response, unlike a stream, is not
    cancelled by the server when its client goes away)."""
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await work()
        group.cancel_scope.cancel()


@router.post("/v1/chat", response_model=ChatTurnRead, openapi_extra=request_body(ChatTurnCreate))
async def chat_once(request: Request, state: StateDep) -> JSONResponse:
    runner, prepared = await _prepare(request, state)
    answer = Answer()

    async def collect() -> None:
        async with aclosing(runner.events(prepared)) as events:
            async for event in events:
                answer.add(event)

    await _until_disconnect(request, collect)
    if answer.error == INTERNAL:
        raise AraError(INTERNAL)  # a 500: ours, not the model's
    if answer.error:
        raise ModelFailed(answer.error, detail=_answer(answer, prepared))
    return JSONResponse(_answer(answer, prepared))


def _answer(answer: Answer, prepared: Prepared) -> dict[str, Any]:
    body: dict[str, Any] = {"text": answer.text, "tool_calls": answer.tool_calls}
    if answer.reasoning:
        body["reasoning"] = answer.reasoning
    body["conversation_id"] = prepared.conversation_id
    return body
