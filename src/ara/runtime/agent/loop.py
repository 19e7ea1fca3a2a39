"""The tool loop of one chat turn: stream the model, run the tools it calls, hand their results back, repeat.

It ends when the model answers without calling a tool, or after ``max_turns`` model calls with one last call
offered no tools (so a model that keeps calling tools still ends with an answer, never an exception). A tool's
failure goes back to the model as ``error: <message>``; a provider's failure ends the turn as a ``Failed``
event carrying its status and text. The loop touches no database: the caller stores and records the
``Message`` and ``ToolOutput`` events it yields (between them the loop is suspended, so nothing runs meanwhile).
Cancelling the consumer closes the model's response and runs no further tool."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from ara.runtime.agent.events import (
    Event,
    Failed,
    Finished,
    Message,
    ReasoningDelta,
    TextDelta,
    ToolInput,
    ToolOutput,
)
from ara.runtime.tools.base import Tool, ToolContext, ToolOutcome, execute

if TYPE_CHECKING:
    import openai
    from openai import AsyncOpenAI

# Tools cap their own output; this bounds what one result adds to every later model call of the chat.
MAX_TOOL_TEXT = 100_000
FINAL_ANSWER = (
    "You have used every tool round this turn allows ({max_turns}). Do not call tools now: answer the user with "
    "what you have done and found so far."
)


@dataclass
class Turn:
    """What one turn works with. ``messages`` is the system prompt, the stored conversation and the new user
    message; the loop appends to it."""

    client: AsyncOpenAI
    model: str  # as the endpoint names it (no provider prefix)
    messages: list[dict[str, Any]]
    tools: Mapping[str, Tool]
    context: ToolContext
    max_turns: int
    secrets: tuple[str, ...] = ()  # never shown in an error message (the provider's API key)


@dataclass
class _Reply:
    """One model call's answer, assembled from its stream."""

    text: str = ""
    calls: dict[int, dict[str, str]] = field(default_factory=dict)  # index -> {id, name, arguments}

    def message(self) -> dict[str, Any]:
        for call in self.calls.values():
            # A server that sends no call id still needs one: the tool's answer names the call it answers.
            call["id"] = call["id"] or f"call_{secrets.token_hex(8)}"
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.calls:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for _, c in sorted(self.calls.items())
            ]
        return message


async def run_turn(turn: Turn) -> AsyncIterator[Event]:
    for _ in range(turn.max_turns):
        reply = _Reply()
        async for event in _call_model(turn, reply, offer_tools=True):
            yield event
            if isinstance(event, Failed):
                return
        message = reply.message()
        yield Message(message)
        turn.messages.append(message)
        if not reply.calls:
            yield Finished("stop")
            return
        for _, call in sorted(reply.calls.items()):
            async for event in _run_call(turn, call):
                yield event
    # The model still wants tools: one last call, offered none, asked for an answer (not stored: the
    # conversation goes on from the answer).
    final = _Reply()
    ask = {"role": "user", "content": FINAL_ANSWER.format(max_turns=turn.max_turns)}
    async for event in _call_model(turn, final, offer_tools=False, extra=[ask]):
        yield event
        if isinstance(event, Failed):
            return
    final.calls.clear()  # a model that calls a tool anyway is not obeyed
    message = final.message()
    yield Message(message)
    turn.messages.append(message)
    yield Finished("max_turns")


async def _call_model(
    turn: Turn, reply: _Reply, *, offer_tools: bool, extra: list[dict[str, Any]] | None = None
) -> AsyncIterator[Event]:
    # Loaded by then (``providers``); deferred so that importing the server does not load it.
    import openai
    from openai.types.chat import ChatCompletion

    request: dict[str, Any] = {"model": turn.model, "messages": turn.messages + (extra or []), "stream": True}
    if offer_tools and turn.tools:
        request["tools"] = [tool.schema() for tool in turn.tools.values()]
    try:
        # The client's generic ``post``, its documented way to send a body as it is and read chunks as plain
        # JSON: ``chat.completions.create`` walks every message and tool schema against its typed parameters and
        # builds a model object per chunk, milliseconds per turn for nothing (these are plain JSON already).
        stream = await turn.client.post(
            "/chat/completions",
            cast_to=ChatCompletion,
            body=request,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )
        async with stream:
            async for chunk in stream:
                for event in _absorb(chunk, reply):
                    yield event
    except openai.APIStatusError as exc:
        yield Failed(_scrub(f"the model provider answered {exc.status_code}: {_provider_text(exc)}", turn))
    except openai.APIConnectionError as exc:  # includes time-outs
        yield Failed(_scrub(f"the model provider could not be reached: {exc.message}", turn))
    except openai.APIError as exc:  # an error event inside the stream
        yield Failed(_scrub(f"the model provider failed: {exc.message}", turn))


def _absorb(chunk: Any, reply: _Reply) -> list[Event]:
    """The events in one streamed chunk (a JSON object); tool-call pieces are only assembled here."""
    events: list[Event] = []
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    for choice in choices or []:
        delta = choice.get("delta") or {}
        # Reasoning models served by vLLM, llama.cpp, DeepSeek and OpenRouter name it one of these.
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, str) and content:
            reply.text += content
            events.append(TextDelta(content))
        for piece in delta.get("tool_calls") or []:
            call = reply.calls.setdefault(int(piece.get("index") or 0), {"id": "", "name": "", "arguments": ""})
            call["id"] = piece.get("id") or call["id"]
            function = piece.get("function") or {}
            name = function.get("name") or ""
            if name and name != call["name"]:  # sent once, or repeated whole by some servers: never doubled
                call["name"] += name
            call["arguments"] += function.get("arguments") or ""
    return events


async def _run_call(turn: Turn, call: dict[str, str]) -> AsyncIterator[Event]:
    call_id = call["id"]
    args, problem = _arguments(call["arguments"])
    yield ToolInput(call_id, call["name"], args if problem is None else call["arguments"])
    tool = turn.tools.get(call["name"])
    if tool is None:
        problem = f"unknown tool {call['name']!r} (tools: {', '.join(sorted(turn.tools))})"
    if problem is not None or tool is None:
        outcome = ToolOutcome(call["name"], args or {}, False, None, problem or "", 0.0)
    else:
        # Tools block (files, processes): a worker thread keeps the event loop serving other requests.
        outcome = await anyio.to_thread.run_sync(execute, tool, turn.context, args)
    text = tool_text(outcome)
    message = {"role": "tool", "tool_call_id": call_id, "content": text}
    turn.messages.append(message)
    yield Message(message)
    yield ToolOutput(call_id, outcome, text)


def _arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        return {}, f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(args, dict):
        return {}, "the arguments must be a JSON object"
    return args, None


def tool_text(outcome: ToolOutcome) -> str:
    """A tool's result as the model reads it."""
    if not outcome.ok:
        return f"error: {outcome.error}"
    text = outcome.output if isinstance(outcome.output, str) else json.dumps(outcome.output, default=str)
    if len(text) > MAX_TOOL_TEXT:
        return text[:MAX_TOOL_TEXT] + f"\n[… {len(text) - MAX_TOOL_TEXT} more characters cut]"
    return text


def _provider_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body["error"] if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body:
        return body
    return exc.message


def _scrub(message: str, turn: Turn) -> str:
    for secret in turn.secrets:
        if secret:
            message = message.replace(secret, "********")
    return message
