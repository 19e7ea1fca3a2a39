"""Reading ``POST /chat``'s answer: the Vercel AI SDK UI-message protocol over SSE, as ara-sdk reads it.

Only ``data:`` lines count; ``data: [DONE]`` ends the turn. ``text-delta`` and ``reasoning-delta`` append their
``delta``; ``tool-input-available`` opens a tool call ``{name, args, result: ""}`` keyed by ``toolCallId``,
which ``tool-output-available`` completes; ``error`` raises; other types are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ara_sdk.errors import AgentError


def _events(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for raw in lines:
        line = raw.strip()
        if line == "data: [DONE]":
            return
        if not line.startswith("data:"):
            continue  # blank lines, ``:`` comments and other SSE fields
        data = line[len("data:") :].strip()
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            yield event


def read_chat(lines: Iterable[str]) -> dict[str, Any]:
    """``{text, tool_calls, [reasoning]}`` from the stream's lines."""
    text: list[str] = []
    reasoning: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for event in _events(lines):
        kind = event.get("type", "")
        if kind == "text-delta":
            text.append(str(event.get("delta", "")))
        elif kind == "reasoning-delta":
            reasoning.append(str(event.get("delta", "")))
        elif kind == "tool-input-available":
            call = {"name": event.get("toolName", ""), "args": event.get("input", {}), "result": ""}
            by_id[str(event.get("toolCallId", ""))] = call
            tool_calls.append(call)
        elif kind == "tool-output-available":
            call_id = str(event.get("toolCallId", ""))
            if call_id in by_id:
                by_id[call_id]["result"] = event.get("output", "")
        elif kind == "error":
            raise AgentError(str(event.get("errorText") or "Agent error"))
    result: dict[str, Any] = {"text": "".join(text), "tool_calls": tool_calls}
    if reasoning:
        result["reasoning"] = "".join(reasoning)
    return result
