"""The kinds of run the engine executes, keyed by kind name: playbook runs (queue ``runs``), automation runs and
app runs (both on queue ``agents``). Each kind names its queue, its procrastinate task, its model (a table with
``id``, ``status``, ``scheduled_time``, ``worker_id``, ``job_id``, ended by ``lifecycle.end_run``), its activation,
and the due runs that wait for something other than their job (a playbook run held back by its ``concurrency``).
The executors, the deferrer and the clock treat every kind alike through this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from ara.apps.models import AppRun
from ara.engine.activation import advance
from ara.engine.agents import advance_automation
from ara.engine.app_runs import advance_app_run
from ara.engine.task_names import TASKS
from ara.lifecycle.executor import APP, AUTOMATION, PLAYBOOK, QUEUE_OF
from ara.playbooks.admission import waiting_for_slot
from ara.playbooks.models import PlaybookRun
from ara.runtime.automations.models import AutomationRun


@dataclass(frozen=True)
class RunKind:
    name: str
    model: Any  # the run's ORM class
    activate: Callable[..., bool]  # (ctx, run_id, *, aborted, on_admit) -> whether the run was admitted
    #: A SQL condition: the due run waits for something its own job does not bring (None: nothing does).
    held_back: Callable[[], ColumnElement[bool]] | None = None

    @property
    def queue(self) -> str:
        return QUEUE_OF[self.name]

    @property
    def task(self) -> str:
        """The procrastinate task of one activation of this kind's runs."""
        return TASKS[self.name]


KINDS: dict[str, RunKind] = {
    PLAYBOOK: RunKind(PLAYBOOK, PlaybookRun, advance, waiting_for_slot),
    AUTOMATION: RunKind(AUTOMATION, AutomationRun, advance_automation),
    APP: RunKind(APP, AppRun, advance_app_run),
}
