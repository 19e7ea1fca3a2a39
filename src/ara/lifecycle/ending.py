"""Ending a run, the one way: move it through the transition table, stamp the end, then let its kind finish
what belongs to it (a playbook run ends its unfinished actions, closes its recording and hands its concurrency
slot to the next waiting run). Used by executors, the scheduler, cancel and rejection alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.lifecycle.states import RunStatus, move_run

Ending = Callable[[Session, Any], None]
E = TypeVar("E", bound=Ending)
_endings: dict[type, Ending] = {}


def on_end(model: type) -> Callable[[E], E]:
    """Register what ending a run of ``model`` also does (one function per kind of run)."""

    def register(function: E) -> E:
        _endings[model] = function
        return function

    return register


def end_run(session: Session, run: Any, status: RunStatus, error: str | None) -> None:
    finish = _endings.get(type(run))
    if finish is None:  # a kind of run whose domain module was never imported: a bug, said loudly
        raise LookupError(f"no ending registered for {type(run).__name__}")
    move_run(run, status)
    run.error = error
    run.end_time = utcnow()
    run.worker_id = None
    finish(session, run)
