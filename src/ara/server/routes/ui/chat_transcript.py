"""A stored chat (OpenAI messages) as the chat page shows it: the user's lines, the assistant's text, and each
tool call with its arguments and the result the model read, in order; the system prompt is not shown."""

from __future__ import annotations

import json
from typing import Any


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def transcript(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{kind: user|assistant, text} | {kind: tool, id, name, args, result}]``."""
    items: list[dict[str, Any]] = []
    calls: dict[str, dict[str, Any]] = {}
    for message in messages:
        role = message.get("role")
        if role == "user":
            items.append({"kind": "user", "text": _text(message.get("content"))})
        elif role == "assistant":
            text = _text(message.get("content"))
            if text:
                items.append({"kind": "assistant", "text": text})
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                item = {
                    "kind": "tool",
                    "id": str(call.get("id") or ""),
                    "name": str(function.get("name") or ""),
                    "args": _pretty(function.get("arguments") or "{}"),
                    "result": None,
                }
                calls[item["id"]] = item
                items.append(item)
        elif role == "tool" and str(message.get("tool_call_id") or "") in calls:
            calls[str(message["tool_call_id"])]["result"] = _pretty(_text(message.get("content")))
    return items
