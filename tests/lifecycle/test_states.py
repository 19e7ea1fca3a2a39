"""The transition table, checked against its specification written out here, and the named groups checked
against the table (a group that drifts from the moves it names is caught here, not in a stuck run)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from ara.errors import AraError, InvalidTransition
from ara.lifecycle.ending import end_run, on_end
from ara.lifecycle.states import (
    ACTION_FAILED,
    ACTION_TERMINAL,
    ACTION_UNFINISHED,
    ACTIVE,
    CLAIMABLE,
    EXECUTING,
    PARKED,
    TERMINAL,
    ActionStatus,
    RunStatus,
    move_action,
    move_run,
    transition,
)

R, A = RunStatus, ActionStatus
_ENDS = {R.FAILED, R.CANCELLED, R.TIMED_OUT}

#: Every legal run move, spelled independently of the module (the specification the table must match).
RUN_MOVES = {
    R.PENDING_APPROVAL: {R.SCHEDULED, *_ENDS},
    R.SCHEDULED: {R.RUNNING, *_ENDS},
    R.RUNNING: {R.WAITING, R.SLEEPING, R.RETRYING, R.COMPLETED, *_ENDS},
    R.WAITING: {R.RUNNING, *_ENDS},
    R.SLEEPING: {R.RUNNING, *_ENDS},
    R.RETRYING: {R.RUNNING, *_ENDS},
}
ACTION_MOVES = {
    A.SCHEDULED: {A.RUNNING, A.SLEEPING, A.SKIPPED, A.CANCELLED, A.FAILED, A.TIMED_OUT},
    A.SLEEPING: {A.RUNNING, A.SKIPPED, A.CANCELLED, A.FAILED, A.TIMED_OUT},
    A.WAITING: {A.RUNNING, A.CANCELLED, A.FAILED},
    A.RUNNING: {A.WAITING, A.COMPLETED, A.FAILED, A.CANCELLED, A.TIMED_OUT},
}


def _accepted(kind: str, statuses: type[RunStatus] | type[ActionStatus]) -> dict[str, set[str]]:
    """The moves ``transition`` accepts, found by trying every pair of statuses."""
    accepted: dict[str, set[str]] = {}
    for current, target in itertools.product(statuses, repeat=2):
        try:
            assert transition(kind, current, target) == target
        except InvalidTransition:
            continue
        accepted.setdefault(current, set()).add(target)
    return accepted


def _reachable(moves: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in moves.get(todo.pop(), set()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@pytest.mark.parametrize(("current", "target"), [(c, t) for c, ts in RUN_MOVES.items() for t in sorted(ts)])
def test_every_legal_run_move_is_accepted(current: RunStatus, target: RunStatus) -> None:
    assert transition("run", current, target) == target


@pytest.mark.parametrize(("current", "target"), [(c, t) for c, ts in ACTION_MOVES.items() for t in sorted(ts)])
def test_every_legal_action_move_is_accepted(current: ActionStatus, target: ActionStatus) -> None:
    assert transition("action", current, target) == target


def test_the_tables_accept_exactly_the_specified_moves() -> None:
    """Every pair outside the specification is refused (no extra move slipped into the table)."""
    assert _accepted("run", RunStatus) == RUN_MOVES
    assert _accepted("action", ActionStatus) == ACTION_MOVES


@pytest.mark.parametrize(
    ("kind", "current", "target"),
    [
        *[("run", c, t) for c in sorted(TERMINAL) for t in RunStatus],
        *[("action", c, t) for c in sorted(ACTION_TERMINAL) for t in ActionStatus],
        ("run", R.RUNNING, R.SCHEDULED),
        ("run", R.RUNNING, R.PENDING_APPROVAL),
        ("run", R.RUNNING, R.RUNNING),
        ("run", R.PENDING_APPROVAL, R.RUNNING),
        ("run", R.SCHEDULED, R.COMPLETED),
        ("run", R.SCHEDULED, R.SLEEPING),
        ("run", R.SLEEPING, R.COMPLETED),
        ("run", R.WAITING, R.SLEEPING),
        ("action", A.RUNNING, A.SCHEDULED),
        ("action", A.RUNNING, A.SKIPPED),
        ("action", A.SCHEDULED, A.COMPLETED),
        ("action", A.WAITING, A.TIMED_OUT),
    ],
)
def test_illegal_moves_are_refused(kind: str, current: str, target: str) -> None:
    with pytest.raises(InvalidTransition) as refused:
        transition(kind, current, target)
    assert refused.value.code == "invalid_transition" and isinstance(refused.value, AraError)
    assert f"from {current} to {target}" in refused.value.message


def test_an_unknown_status_is_not_a_move() -> None:
    with pytest.raises(ValueError, match="bogus"):
        transition("run", "bogus", RunStatus.RUNNING)
    with pytest.raises(ValueError, match="bogus"):
        transition("action", ActionStatus.RUNNING, "bogus")


def test_run_groups_agree_with_the_table() -> None:
    moves = _accepted("run", RunStatus)
    # Nothing leaves a terminal status, and every other status can still end (fail or be cancelled).
    assert TERMINAL == set(RunStatus) - set(moves)
    assert all({R.FAILED, R.CANCELLED} <= targets for targets in moves.values())
    # A claimable run is one an executor can start: each reaches RUNNING in one move.
    assert all(R.RUNNING in moves[status] for status in CLAIMABLE)
    assert not CLAIMABLE & TERMINAL and R.PENDING_APPROVAL not in CLAIMABLE
    # Active = the statuses between start (RUNNING) and end: reachable from RUNNING and not terminal.
    assert _reachable(moves, R.RUNNING) - TERMINAL == ACTIVE
    assert R.SCHEDULED not in ACTIVE and R.PENDING_APPROVAL not in ACTIVE
    # Executing and parked split the active statuses; a parked run goes back to RUNNING.
    assert EXECUTING | PARKED == ACTIVE and not EXECUTING & PARKED
    assert all(R.RUNNING in moves[status] for status in PARKED)
    # No dead status: every one is reachable from a newly created run.
    assert _reachable(moves, R.PENDING_APPROVAL) | _reachable(moves, R.SCHEDULED) == set(RunStatus)


def test_action_groups_agree_with_the_table() -> None:
    moves = _accepted("action", ActionStatus)
    assert ACTION_TERMINAL == set(ActionStatus) - set(moves)
    assert ACTION_UNFINISHED == set(moves)
    assert ACTION_FAILED <= ACTION_TERMINAL and A.COMPLETED not in ACTION_FAILED and A.SKIPPED not in ACTION_FAILED
    # Ending a run ends its unfinished actions as failed or cancelled: both must be legal from each of them.
    assert all({A.FAILED, A.CANCELLED} <= moves[status] for status in ACTION_UNFINISHED)
    assert _reachable(moves, A.SCHEDULED) == set(ActionStatus)


@dataclass
class _Row:
    status: str
    error: str | None = None
    end_time: object = None
    worker_id: str | None = "w1"


def test_move_changes_the_status_only_when_legal() -> None:
    run = _Row(RunStatus.SCHEDULED)
    move_run(run, RunStatus.RUNNING)
    assert run.status == RunStatus.RUNNING
    with pytest.raises(InvalidTransition):
        move_run(run, RunStatus.SCHEDULED)
    assert run.status == RunStatus.RUNNING
    action = _Row(ActionStatus.RUNNING)
    move_action(action, ActionStatus.COMPLETED)
    with pytest.raises(InvalidTransition):
        move_action(action, ActionStatus.RUNNING)
    assert action.status == ActionStatus.COMPLETED


class _Orphan(_Row):
    """A kind of run whose domain registered no ending."""


class _Registered(_Row):
    pass


def test_end_run_without_a_registered_ending_raises_and_changes_nothing() -> None:
    run = _Orphan(RunStatus.RUNNING)
    with pytest.raises(LookupError, match="_Orphan"):
        end_run(None, run, RunStatus.FAILED, "boom")  # type: ignore[arg-type]
    assert (run.status, run.error, run.end_time, run.worker_id) == (RunStatus.RUNNING, None, None, "w1")


def test_end_run_moves_stamps_then_calls_the_kinds_ending() -> None:
    seen: list[tuple[object, str, str | None, bool, str | None]] = []

    @on_end(_Registered)
    def finish(session: object, run: _Registered) -> None:
        seen.append((session, run.status, run.error, run.end_time is not None, run.worker_id))

    session = object()
    run = _Registered(RunStatus.SLEEPING)
    end_run(session, run, RunStatus.TIMED_OUT, "late")  # type: ignore[arg-type]
    assert seen == [(session, RunStatus.TIMED_OUT, "late", True, None)]
    with pytest.raises(InvalidTransition):  # an ended run cannot be ended again, and its ending is not rerun
        end_run(session, run, RunStatus.FAILED, "again")  # type: ignore[arg-type]
    assert len(seen) == 1 and run.status == RunStatus.TIMED_OUT
