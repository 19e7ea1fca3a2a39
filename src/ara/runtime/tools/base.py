"""What a tool is, what it runs with, and the one way to execute one by name.

A tool takes a JSON object of arguments (CLI ``--arg`` values arrive as strings, so tools coerce) and returns a
JSON-able output. A refusal or failure raises ``ToolFailed``; ``execute`` turns it into ``ToolOutcome(ok=False)``
whose ``error`` the model reads as text."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.errors import ToolFailed
from ara.runtime.sandbox.base import Limits, Sandbox
from ara.runtime.workspace import Workspace
from ara.settings import RuntimeSettings


@dataclass(frozen=True)
class ToolContext:
    session_id: str
    user_id: int
    workspace: Workspace
    sandbox: Sandbox
    settings: RuntimeSettings
    network: bool = False
    # Values that must never appear in recorded output (app secrets): the recorder scrubs them.
    secrets: Mapping[str, str] = field(default_factory=dict)
    # Write sessions, for the tools that keep rows (``automation_*``); None where no database is at hand.
    writer: sessionmaker[Session] | None = None
    # Read sessions, for the read-only tools (``records``); they fall back to ``writer``.
    reader: sessionmaker[Session] | None = None

    @property
    def limits(self) -> Limits:
        return Limits.from_settings(self.settings)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema object, as the model sees it
    run: Callable[[ToolContext, dict[str, Any]], Any]
    kind: str = "builtin"  # builtin | app | connector

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass(frozen=True)
class ToolOutcome:
    name: str
    args: dict[str, Any]
    ok: bool
    output: Any
    error: str
    duration_seconds: float


def execute(tool: Tool, ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    """Run one tool; its refusal or failure is an outcome, not an exception (the loop hands it to the model)."""
    started = time.monotonic()
    try:
        output = tool.run(ctx, dict(args))
    except ToolFailed as exc:
        return ToolOutcome(tool.name, args, False, None, exc.message, time.monotonic() - started)
    except OSError as exc:  # the file system said no (a full disk, a permission): the model reads why
        reason = exc.strerror or exc.__class__.__name__
        return ToolOutcome(tool.name, args, False, None, f"{tool.name} failed: {reason}", time.monotonic() - started)
    return ToolOutcome(tool.name, args, True, output, "", time.monotonic() - started)
