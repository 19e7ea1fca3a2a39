"""``ara_sdk.chat_stream.read_chat``: the UI-message SSE stream read as ara-sdk 0.1.46 reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ara_sdk import AgentError
from ara_sdk.chat_stream import read_chat


def data(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event)}"


def test_text_reasoning_and_tool_calls_are_assembled() -> None:
    lines = [
        ": keep-alive comment",
        data({"type": "start", "messageId": "m1"}),
        "",
        data({"type": "reasoning-delta", "delta": "think "}),
        data({"type": "reasoning-delta", "delta": "hard"}),
        data({"type": "tool-input-available", "toolCallId": "c1", "toolName": "write_file", "input": {"path": "a"}}),
        data({"type": "tool-input-available", "toolCallId": "c2", "toolName": "exec", "input": {"command": "ls"}}),
        data({"type": "tool-output-available", "toolCallId": "c2", "output": {"stdout": "a\n"}}),
        data({"type": "tool-output-available", "toolCallId": "unknown", "output": "ignored"}),
        "data: {not json",
        "event: other-field",
        data({"type": "text-delta", "delta": "Done"}),
        data({"type": "text-delta", "delta": " ✓"}),
        data({"type": "finish"}),
        "data: [DONE]",
        data({"type": "text-delta", "delta": " after the end"}),
    ]
    assert read_chat(lines) == {
        "text": "Done ✓",
        "tool_calls": [
            {"name": "write_file", "args": {"path": "a"}, "result": ""},
            {"name": "exec", "args": {"command": "ls"}, "result": {"stdout": "a\n"}},
        ],
        "reasoning": "think hard",
    }


def test_no_reasoning_key_without_reasoning_and_an_error_event_raises() -> None:
    assert read_chat([data({"type": "text-delta", "delta": "hi"})]) == {"text": "hi", "tool_calls": []}
    failing = [data({"type": "text-delta", "delta": "x"}), data({"type": "error", "errorText": "model provider down"})]
    with pytest.raises(AgentError, match="model provider down") as raised:
        read_chat(failing)
    assert isinstance(raised.value, RuntimeError)  # what code written for ara-sdk catches
