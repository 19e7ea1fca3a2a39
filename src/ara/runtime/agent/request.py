"""What a chat request asks, read from either body the wire knows: ``POST /chat``'s ``{messages, [model],
[chatId]}`` (ara-sdk, the Vercel AI SDK) or ``POST /v1/chat``'s ``{message, [model], [conversation_id]}``.

Only the last message is new input: the conversation before it is the stored one (a client resending the whole
history, as ``useChat`` does, changes nothing). Its content is a string or the AI SDK's ``parts`` of type text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ara.errors import ValidationFailed
from ara.runtime.agent.conversations import check_chat_id

MAX_MESSAGE_CHARS = 200_000


@dataclass(frozen=True)
class ChatInput:
    message: str
    model: str | None
    chat_id: str | None


def parse_chat(body: Any) -> ChatInput:
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["expected a JSON object"]})
    if "messages" in body:
        message = _last_user_message(body["messages"])
    elif "message" in body:
        message = _text(body["message"], "message")
    else:
        raise ValidationFailed({"messages": ["This field is required (or give `message`)."]})
    if not message.strip():
        raise ValidationFailed({"messages" if "messages" in body else "message": ["the message is empty"]})
    if len(message) > MAX_MESSAGE_CHARS:
        raise ValidationFailed({"message": [f"longer than {MAX_MESSAGE_CHARS} characters"]})
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ValidationFailed({"model": ["must be a string like 'openai/gpt-4o-mini'"]})
    field = "chatId" if body.get("chatId") not in (None, "") else "conversation_id"
    return ChatInput(message, model or None, check_chat_id(body.get(field), field))


def _last_user_message(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        raise ValidationFailed({"messages": ["must be a non-empty list of {role, content}"]})
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        raise ValidationFailed({"messages": ["the last message must be the user's ({role: 'user', content})"]})
    if "content" in last:
        return _text(last["content"], "messages")
    parts = last.get("parts")
    if isinstance(parts, list):
        texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(texts)
    raise ValidationFailed({"messages": ["the last message needs `content` (a string) or text `parts`"]})


def _text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # OpenAI's content parts
        texts = [p.get("text") for p in value if isinstance(p, dict) and p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(texts)
    raise ValidationFailed({field: ["the message content must be a string"]})
