"""Run and action statuses, their named groups, and the one function allowed to move them.

Every kind of run (playbook runs today, app runs next) goes through this table; a status group is spelled here
and nowhere else."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ara.errors import InvalidTransition


class RunStatus(StrEnum):
    SCHEDULED = "scheduled"
    PENDING_APPROVAL = "pending_approval"
    RUNNING = "running"
    WAITING = "waiting"
    SLEEPING = "sleeping"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class ActionStatus(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    WAITING = "waiting"
    SLEEPING = "sleeping"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


#: A run that is over: nothing moves it again.
TERMINAL = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})
#: A run that is over and did not succeed (an app run's answer says ``ok: false``).
UNSUCCESSFUL = frozenset({RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT})
#: A run an executor may pick up when its ``scheduled_time`` comes (new, or parked by a delay or a retry).
CLAIMABLE = frozenset({RunStatus.SCHEDULED, RunStatus.SLEEPING, RunStatus.RETRYING})
#: A run that has started and not ended: it holds one of its playbook's ``concurrency`` slots.
ACTIVE = frozenset({RunStatus.RUNNING, RunStatus.WAITING, RunStatus.SLEEPING, RunStatus.RETRYING})
#: A run that has started and waits without an executor holding it (its own timeout still applies).
PARKED = frozenset({RunStatus.WAITING, RunStatus.SLEEPING, RunStatus.RETRYING})
#: A run some executor is executing right now (if that executor dies, the run is failed, never re-run).
EXECUTING = frozenset({RunStatus.RUNNING})

ACTION_TERMINAL = frozenset(
    {ActionStatus.COMPLETED, ActionStatus.FAILED, ActionStatus.SKIPPED, ActionStatus.CANCELLED, ActionStatus.TIMED_OUT}
)
#: An action attempt that has not ended; ending its run ends it too.
ACTION_UNFINISHED = frozenset(
    {ActionStatus.SCHEDULED, ActionStatus.SLEEPING, ActionStatus.WAITING, ActionStatus.RUNNING}
)
#: An action attempt that ended badly (it fails its run unless a later attempt follows).
ACTION_FAILED = frozenset({ActionStatus.FAILED, ActionStatus.TIMED_OUT})

_RUN_MOVES: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING_APPROVAL: frozenset(
        {RunStatus.SCHEDULED, RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.TIMED_OUT}
    ),
    RunStatus.SCHEDULED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.TIMED_OUT}),
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.WAITING,
            RunStatus.SLEEPING,
            RunStatus.RETRYING,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
            RunStatus.CANCELLED,
            RunStatus.TIMED_OUT,
        }
    ),
    RunStatus.WAITING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT}),
    RunStatus.SLEEPING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT}),
    RunStatus.RETRYING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT}),
}

_ACTION_MOVES: dict[ActionStatus, frozenset[ActionStatus]] = {
    ActionStatus.SCHEDULED: frozenset(
        {
            ActionStatus.RUNNING,
            ActionStatus.SLEEPING,
            ActionStatus.SKIPPED,
            ActionStatus.CANCELLED,
            ActionStatus.FAILED,
            ActionStatus.TIMED_OUT,
        }
    ),
    ActionStatus.SLEEPING: frozenset(
        {
            ActionStatus.RUNNING,
            ActionStatus.CANCELLED,
            ActionStatus.FAILED,
            ActionStatus.TIMED_OUT,
            ActionStatus.SKIPPED,
        }
    ),
    ActionStatus.WAITING: frozenset({ActionStatus.RUNNING, ActionStatus.CANCELLED, ActionStatus.FAILED}),
    ActionStatus.RUNNING: frozenset(
        {
            ActionStatus.WAITING,
            ActionStatus.COMPLETED,
            ActionStatus.FAILED,
            ActionStatus.CANCELLED,
            ActionStatus.TIMED_OUT,
        }
    ),
}


class HasStatus(Protocol):
    status: str


def move_run(run: HasStatus, target: RunStatus) -> None:
    run.status = transition("run", run.status, target)


def move_action(action: HasStatus, target: ActionStatus) -> None:
    action.status = transition("action", action.status, target)


def transition(kind: str, current: str, target: str) -> str:
    """Returns ``target`` if ``current -> target`` is legal for a run (``kind="run"``) or an action, else raises."""
    if kind == "run":
        allowed = _RUN_MOVES.get(RunStatus(current), frozenset())
        ok = RunStatus(target) in allowed
    else:
        allowed_actions = _ACTION_MOVES.get(ActionStatus(current), frozenset())
        ok = ActionStatus(target) in allowed_actions
    if not ok:
        raise InvalidTransition(f"a {kind} cannot go from {current} to {target}")
    return target
