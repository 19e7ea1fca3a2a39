"""What a chat turn reports as it goes. The loop yields them; ``stream`` writes them as the UI-message stream
(``POST /chat``), ``collect`` folds them into one answer (``POST /v1/chat``), and the turn stores and records
the ``Message`` and ``ToolOutput`` ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ara.runtime.tools.base import ToolOutcome


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True)
class ToolInput:
    call_id: str
    name: str
    args: Any


@dataclass(frozen=True)
class ToolOutput:
    call_id: str
    outcome: ToolOutcome
    text: str  # what the model reads: the output as text, or ``error: <message>``


@dataclass(frozen=True)
class Message:
    """An OpenAI message the turn added to the conversation (the assistant's, or a tool result)."""

    message: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    """The turn ended on an error the caller should read (the model provider's, say)."""

    message: str


@dataclass(frozen=True)
class Finished:
    reason: str  # "stop": the model answered; "max_turns": the last call without tools answered


Event = TextDelta | ReasoningDelta | ToolInput | ToolOutput | Message | Failed | Finished


@dataclass
class Answer:
    """A whole turn as ``POST /v1/chat`` (and ara-sdk's ``chat()``) shows it."""

    text: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {name, args, result}
    error: str = ""
    _by_id: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def add(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.text += event.text
        elif isinstance(event, ReasoningDelta):
            self.reasoning += event.text
        elif isinstance(event, ToolInput):
            entry = {"name": event.name, "args": event.args, "result": ""}
            self._by_id[event.call_id] = entry
            self.tool_calls.append(entry)
        elif isinstance(event, ToolOutput) and event.call_id in self._by_id:
            self._by_id[event.call_id]["result"] = tool_result(event)
        elif isinstance(event, Failed):
            self.error = event.message


def tool_result(event: ToolOutput) -> Any:
    """What a client is shown as a tool's result: its output, or ``error: <message>``."""
    return event.outcome.output if event.outcome.ok else event.text
