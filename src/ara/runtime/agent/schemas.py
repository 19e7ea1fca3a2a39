"""The chat routes' bodies as the OpenAPI document shows them (the handlers read bodies with ``request``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None
    parts: list[dict[str, Any]] | None = Field(default=None, description="the Vercel AI SDK's message parts")


class ChatTurnCreate(BaseModel):
    """``POST /chat`` sends ``messages`` (only the last, the user's, is new) and ``chatId``; ``POST /v1/chat``
    also takes ``message`` and ``conversation_id``."""

    messages: list[ChatMessage] | None = None
    message: str | None = None
    model: str | None = Field(default=None, description="provider/name; the server's default model when absent")
    chatId: str | None = Field(default=None, description="continue this chat (a new one when absent)")
    conversation_id: str | None = None


class ToolCallRead(BaseModel):
    name: str
    args: Any
    result: Any


class ChatTurnRead(BaseModel):
    text: str
    tool_calls: list[ToolCallRead]
    reasoning: str | None = None
    conversation_id: str
