"""A turn's events as the Vercel AI SDK UI-message stream (protocol v1) over Server-Sent Events, which the Ara
UI, ``useChat`` and ara-sdk's ``chat()`` read: ``start``, ``text-start``/``text-delta``/``text-end``,
``reasoning-*``, ``tool-input-available``, ``tool-output-available``, ``error``, ``finish``, ``data: [DONE]``.
A text (or reasoning) part is opened by its first delta and closed by whatever comes next."""

from __future__ import annotations

import json
import secrets
from typing import Any

from ara.runtime.agent.events import Event, Failed, ReasoningDelta, TextDelta, ToolInput, ToolOutput, tool_result

HEADERS = {
    "x-vercel-ai-ui-message-stream": "v1",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # a proxy in front (nginx) must pass each event on as it comes
}
MEDIA_TYPE = "text/event-stream"
DONE = "data: [DONE]\n\n"


def sse(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n"


class UIMessageStream:
    """Turns events into SSE lines, keeping which part is open."""

    def __init__(self, chat_id: str) -> None:
        self.chat_id = chat_id
        self.message_id = f"msg-{secrets.token_hex(12)}"
        self._open: tuple[str, str] | None = None  # ("text" | "reasoning", part id)
        self._parts = 0

    def start(self) -> str:
        return sse({"type": "start", "messageId": self.message_id, "messageMetadata": {"chatId": self.chat_id}})

    def encode(self, event: Event) -> str:
        if isinstance(event, TextDelta):
            return self._delta("text", event.text)
        if isinstance(event, ReasoningDelta):
            return self._delta("reasoning", event.text)
        if isinstance(event, ToolInput):
            payload = {"type": "tool-input-available", "toolCallId": event.call_id, "toolName": event.name}
            return self._close() + sse({**payload, "input": event.args})
        if isinstance(event, ToolOutput):
            payload = {"type": "tool-output-available", "toolCallId": event.call_id, "output": tool_result(event)}
            return self._close() + sse(payload)
        if isinstance(event, Failed):
            return self._close() + sse({"type": "error", "errorText": event.message})
        return ""  # stored or recorded by the turn, nothing for the client

    def finish(self) -> str:
        return self._close() + sse({"type": "finish"}) + DONE

    def _delta(self, kind: str, text: str) -> str:
        opened = ""
        if self._open is None or self._open[0] != kind:
            opened = self._close()
            self._parts += 1
            self._open = (kind, f"{self.message_id}-{self._parts}")
            opened += sse({"type": f"{kind}-start", "id": self._open[1]})
        return opened + sse({"type": f"{kind}-delta", "id": self._open[1], "delta": text})

    def _close(self) -> str:
        if self._open is None:
            return ""
        kind, part = self._open
        self._open = None
        return sse({"type": f"{kind}-end", "id": part})
