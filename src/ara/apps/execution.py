"""Executing one app run's agent: its prompt function and tools in the sandbox, the model's tool loop.

OWNED BY the agent-execution part (interface fixed here; bodies are theirs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.settings import Settings


@dataclass(frozen=True)
class RunRequest:
    """A snapshot of the run, taken when it was admitted (no ORM object crosses into the execution)."""

    app_id: str
    app_slug: str
    run_pk: str
    run_id: str
    agent_id: str
    input: dict[str, Any]
    manifest: dict[str, Any]
    owner_id: int
    playbook_id: int | None  # the run's records playbook: its turns and tool calls are recorded under it
    warmup: bool = False


@dataclass
class AgentOutcome:
    output_text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {id, name, arguments, result}


#: ``log(event_type, message, level)``: one live log row of this run.
LogFn = Callable[[str, str, str], None]


def execute(
    settings: Settings,
    reader: sessionmaker[Session],
    writer: sessionmaker[Session],
    request: RunRequest,
    *,
    log: LogFn,
    aborted: Callable[[], bool],
) -> AgentOutcome:
    """Runs the agent to its answer. Raises an ``AraError`` whose message is the run's failure reason."""
    raise NotImplementedError
