"""What every action runner receives and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ara.redaction import scrub
from ara.settings import Settings

__all__ = ["ActionContext", "Outcome", "pairs", "scrub"]


def pairs(value: Any) -> dict[str, str]:
    """``{name: value}`` from a mapping or a list of ``{name, value}`` items (env variables, headers)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(item["name"]): str(item.get("value", "")) for item in value or [] if "name" in item}


@dataclass
class ActionContext:
    run_id: str
    action_id: str
    workdir: Path
    timeout: float  # seconds this attempt may take
    env: dict[str, str]
    secrets: list[str]  # values to scrub from anything recorded
    cancelled: Callable[[], bool]  # polled while the action runs
    settings: Settings
    records_playbook_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the run's parameters, opened (``ansible`` passes them on)
    binds: dict[str, Any] = field(default_factory=dict)  # a sql query's bind parameters (from its templates)
    # The database, for the kinds that act through it (``agent`` starts an app run and waits for its end).
    writer: sessionmaker[Session] | None = None
    reader: sessionmaker[Session] | None = None
    # Whose run this is: its creator, else (a trigger fired it) the definition's; ``agent`` acts as them.
    actor: str | None = None


@dataclass
class Outcome:
    ok: bool
    result: dict[str, Any]
    error: str | None = None
    timed_out: bool = False
    cancelled: bool = False
    # (the path the spec named, the local file holding it) for each artifact to store
    files: list[tuple[str, Path]] = field(default_factory=list)
