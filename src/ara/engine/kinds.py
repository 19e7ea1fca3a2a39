"""The kinds of run the engine executes, one per queue: playbook runs on ``runs``, automation (agent) runs on
``agents``. Each kind names its model (a table with ``id``, ``status``, ``scheduled_time``, ``worker_id``,
``job_id``, ended by ``lifecycle.end_run``), its activation, and the due runs that wait for something other than
their job (a playbook run held back by its ``concurrency``). The executors, the deferrer and the clock treat every
kind alike through this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from ara.engine.activation import advance
from ara.engine.agents import advance_automation
from ara.lifecycle.executor import AGENTS, RUNS
from ara.playbooks.admission import waiting_for_slot
from ara.playbooks.models import PlaybookRun
from ara.runtime.automations.models import AutomationRun


@dataclass(frozen=True)
class RunKind:
    queue: str
    model: Any  # the run's ORM class
    activate: Callable[..., bool]  # (ctx, run_id, *, aborted, on_admit) -> whether the run was admitted
    #: A SQL condition: the due run waits for something its own job does not bring (None: nothing does).
    held_back: Callable[[], ColumnElement[bool]] | None = None


KINDS: dict[str, RunKind] = {
    RUNS: RunKind(RUNS, PlaybookRun, advance, waiting_for_slot),
    AGENTS: RunKind(AGENTS, AutomationRun, advance_automation),
}
