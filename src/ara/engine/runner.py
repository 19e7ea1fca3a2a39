"""Executes one admitted run, action by action, until it ends or parks itself.

A run parks (``sleeping`` for a ``delay``, ``retrying`` before another attempt) by releasing its executor with a
``scheduled_time`` and making itself due then (or at its deadline, if sooner), so a delay never holds a thread.
Each step is its own short transaction: nothing is held open while an action runs.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session

from ara.db.after_commit import after_commit
from ara.db.detached import insert_detached, write_changes
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine.actions import ActionContext, Outcome, runner_for
from ara.engine.context import EngineContext
from ara.engine.rendering import Rendered, render_action
from ara.engine.scrubbing import log_crash, scrubbed_copy
from ara.errors import AraError
from ara.lifecycle.ending import end_run
from ara.lifecycle.executor import make_due
from ara.lifecycle.states import ACTION_FAILED, ACTION_TERMINAL, ActionStatus, RunStatus, move_action, move_run
from ara.playbooks import recording as records
from ara.playbooks.artifacts import Digest
from ara.playbooks.conditions import should_run
from ara.playbooks.durations import parse_duration
from ara.playbooks.models import Artifact, PlaybookDefinition, PlaybookRun, RunAction
from ara.playbooks.parameters import opened
from ara.playbooks.spec import Action, PlaybookSpec
from ara.redaction import scrub, scrub_tree

NEXT, AGAIN, STOP = "next", "again", "stop"

# The queries every run makes, built once (building a statement and its cache key costs more than running it).
_RUN_ACTIONS = (
    select(RunAction).where(RunAction.run_id == bindparam("run_id")).order_by(RunAction.position, RunAction.attempt)
)
_FAILED_ATTEMPTS = select(RunAction.id, RunAction.name, RunAction.error, RunAction.position, RunAction.attempt).where(
    RunAction.run_id == bindparam("run_id"), RunAction.status.in_(ACTION_FAILED)
)
_LATER_ATTEMPT = select(RunAction.id).where(
    RunAction.run_id == bindparam("run_id"),
    RunAction.position == bindparam("position"),
    RunAction.attempt > bindparam("attempt"),
)
_TITLED = select(PlaybookDefinition.name, PlaybookDefinition.title).where(PlaybookDefinition.id == bindparam("id"))
# Locked (PostgreSQL): a cancel that reads the run after this waits for this step's commit, and one that read it first
# has committed before this read returns (see ``runs.cancel_run``).
_HOLDER = (
    select(PlaybookRun.status, PlaybookRun.worker_id).where(PlaybookRun.id == bindparam("run_id")).with_for_update()
)


def _backoff(retry: Any, attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: duration * multiplier^(attempt-1), plus up to ``jitter`` percent."""
    base = parse_duration(retry.duration) * (retry.exponent.multiplier ** max(attempt - 1, 0))
    return base * (1 + random.uniform(0, retry.jitter / 100)) if retry.jitter else base


@dataclass
class Prepared:
    """An action attempt started in a transaction, to run once it commits."""

    action_ctx: ActionContext
    kind_spec: Any  # the kind's spec, rendered and validated (None when ``refused``)
    refused: str | None  # why the action fails without running (a template that cannot render)
    deadline: dt.datetime
    run: PlaybookRun  # the run and the attempt as the step committed them (detached), for ``_finish_action``
    action: RunAction


@dataclass
class Begun:
    """What ``begin`` hands to ``execute``: the run's spec and, for a run it started, the first step."""

    spec: PlaybookSpec
    first: str | Prepared | None


class CancelWatch:
    """Whether a running run was cancelled: the executor's in-memory abort flag, else at most one read a second
    (a cancel through a path that reached no executor still stops the run within a second)."""

    def __init__(self, ctx: EngineContext, run_id: str, aborted: Callable[[], bool]) -> None:
        self.ctx, self.run_id, self.aborted = ctx, run_id, aborted
        self._next_read = time.monotonic() + 1.0
        self._cancelled = False

    def __call__(self) -> bool:
        if self._cancelled or self.aborted():
            self._cancelled = True
        elif time.monotonic() >= self._next_read:
            self._next_read = time.monotonic() + 1.0
            with unit_of_work(self.ctx.reader) as session:
                status = session.scalar(select(PlaybookRun.status).where(PlaybookRun.id == self.run_id))
            self._cancelled = status != RunStatus.RUNNING
        return self._cancelled


class RunRunner:
    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._recording: records.Recording | None = None  # kept from the start, spares each action a look-up

    # -- helpers --------------------------------------------------------------------------------------------
    def _context(self, session: Session, run: PlaybookRun, spec: PlaybookSpec) -> dict[str, Any]:
        from ara.playbooks.runs import base_context

        context = base_context(session, spec, {**run.request, **_targets(run)}, None)
        context["user"] = {"name": run.created_by}
        context["params"] = opened(run.parameters, self.ctx.box)
        context["run"] = {"id": run.id, "playbook_id": run.playbook_id, "trigger": run.trigger}
        return context

    def _secrets(self, run: PlaybookRun) -> list[str]:
        from ara.crypto import is_sealed

        return [self.ctx.box.open(v) for v in run.parameters.values() if is_sealed(v)]

    def begin(self, session: Session, run: PlaybookRun) -> Begun:
        """In the transaction that admitted ``run``: stamp its first start, open its recording and start its first
        action (one commit where there were three). A failure there must still fail the run with the reason, as
        ``execute`` would: ``advance`` rolls back, admits the run again and calls ``crashed``. Returns the spec,
        validated once, and the first step for ``execute``."""
        session.expunge(run)  # kept detached from here on, its changes written by ``write_changes``
        begun = self._begin(session, run)
        write_changes(session, run)
        return begun

    def _begin(self, session: Session, run: PlaybookRun) -> Begun:
        spec = PlaybookSpec.model_validate(run.spec)
        if run.start_time is not None:
            return Begun(spec, None)
        context = self._context(session, run, spec)  # the records host's name, then the first action's templates
        self._start(session, run, context)
        if not spec.actions:
            return Begun(spec, None)
        # A run never started has no action attempts yet: nothing to look up.
        last = len(spec.actions) == 1
        first = self._prepare(session, run, spec, 0, utcnow(), last=last, actions=[], context=context)
        return Begun(spec, first)

    def _start(self, session: Session, run: PlaybookRun, context: dict[str, Any]) -> None:
        run.start_time = utcnow()
        with session.no_autoflush:  # the run's start and its records playbook go in one UPDATE
            definition = session.connection().execute(_TITLED, {"id": run.playbook_id}).one()
            target = context["config"] or context["component"] or context["check"]
            self._recording = records.start(session, run, definition, target.get("name") or "localhost")
        run.records_playbook_id = self._recording.playbook

    def crashed(self, session: Session, run: PlaybookRun, exc: Exception) -> None:
        """Never leave a run 'running' because of a bug: fail it with the (scrubbed) reason."""
        secrets = self._secrets(run)
        log_crash(f"run {run.id} crashed", exc, secrets)
        if run.status == RunStatus.RUNNING:
            self._end(session, run, RunStatus.FAILED, scrub(f"internal error: {exc}", secrets))

    # -- the loop -------------------------------------------------------------------------------------------
    def execute(self, run_id: str, aborted: Callable[[], bool], begun: Begun) -> None:
        """Run an admitted (``running``) run until it ends or parks; ``aborted`` is the executor's abort flag.
        ``begun`` comes from ``begin`` (the run was started in the admitting transaction)."""
        try:
            self._execute(run_id, CancelWatch(self.ctx, run_id, aborted), begun)
        except Exception as exc:
            with unit_of_work(self.ctx.writer) as session:
                run = session.get(PlaybookRun, run_id)
                if run is not None:
                    self.crashed(session, run, exc)
                else:
                    log_crash(f"run {run_id} crashed", exc, [])

    def _execute(self, run_id: str, cancelled: CancelWatch, begun: Begun) -> None:
        spec, spec_actions = begun.spec, begun.spec.actions
        position, first = 0, begun.first
        while position < len(spec_actions):
            last = position == len(spec_actions) - 1
            if isinstance(first, Prepared):  # the first action, started in the admitting transaction
                step = self._perform(run_id, first, spec_actions[0], cancelled, last)
            else:
                step = first or self._step(run_id, spec, position, cancelled, last)
            first = None
            if step == STOP:
                return
            if step == NEXT:
                position += 1
        with unit_of_work(self.ctx.writer) as session:
            run = session.get(PlaybookRun, run_id)
            if run is None or run.status != RunStatus.RUNNING:
                return
            self._conclude(session, run)

    def _conclude(self, session: Session, run: PlaybookRun, current: RunAction | None = None) -> None:
        """Every action has its outcome: the run ends ``failed`` with the first failure left unretried, else
        ``completed``. ``current``: the attempt this transaction just finished, whose outcome need not be flushed
        (its row is read from it, not the database: the attempt's end and the run's go in one flush)."""
        failure = _first_failure(session, run, current)
        if failure is not None:
            name, error = failure
            self._end(session, run, RunStatus.FAILED, f"action {name!r} failed: {error}")
        else:
            self._end(session, run, RunStatus.COMPLETED, None)

    def _step(self, run_id: str, spec: PlaybookSpec, position: int, cancelled: CancelWatch, last: bool) -> str:
        """Advance one action: NEXT, AGAIN (a retry due now) or STOP (the run parked or ended). After the ``last``
        action the run ends in the transaction that records its outcome (one commit fewer)."""
        now = utcnow()
        with unit_of_work(self.ctx.writer) as session:
            run = session.get(PlaybookRun, run_id)
            if run is None or run.status != RunStatus.RUNNING:
                return STOP
            prepared = self._prepare(session, run, spec, position, now, last=last)
        if isinstance(prepared, str):
            return prepared
        return self._perform(run_id, prepared, spec.actions[position], cancelled, last)

    def _prepare(
        self,
        session: Session,
        run: PlaybookRun,
        spec: PlaybookSpec,
        position: int,
        now: dt.datetime,
        *,
        last: bool,
        actions: list[RunAction] | None = None,
        context: dict[str, Any] | None = None,
    ) -> str | Prepared:
        """In the caller's transaction: the action at ``position`` started (its attempt ``running``), or what
        happened instead: NEXT (it has its outcome), STOP (the run timed out, parked or, after a skipped last
        action, ended). ``actions``, ``context``: the run's attempts and template context, when the caller has
        them."""
        run_id, action_spec = run.id, spec.actions[position]
        assert run.start_time is not None
        deadline = run.start_time + dt.timedelta(seconds=run.timeout)
        if now >= deadline:
            self._end(session, run, RunStatus.TIMED_OUT, f"run timed out after {run.timeout}s")
            return STOP
        if actions is None:
            actions = self._actions(session, run_id)
        attempts = [a for a in actions if a.position == position]
        current = attempts[-1] if attempts else None
        if current is not None and current.status in ACTION_TERMINAL:
            return NEXT
        if context is None:
            context = self._context(session, run, spec)
        done = _done_actions(actions)
        if current is None:
            failed = any(a["status"] in ACTION_FAILED and not a["retried"] for a in done.values())
            if not should_run(action_spec.if_, failed=failed, context=context, actions=done):
                action = RunAction(run_id=run_id, name=action_spec.name, position=position, status="scheduled")
                session.add(action)
                move_action(action, ActionStatus.SKIPPED)
                action.start_time = action.end_time = now
                session.flush()
                records.record_action(session, run, action, action_spec.kind, self._recording)
                return self._next(session, run, last)
            current = RunAction(run_id=run_id, name=action_spec.name, position=position, status="scheduled")
            if action_spec.delay:
                move_action(current, ActionStatus.SLEEPING)
                current.scheduled_time = now + dt.timedelta(seconds=parse_duration(action_spec.delay))
                insert_detached(session, current)
                self._park(session, run, RunStatus.SLEEPING, current.scheduled_time, deadline)
                return STOP
        if current.status == ActionStatus.SLEEPING and current.scheduled_time > now:
            status = RunStatus.RETRYING if current.attempt > 1 else RunStatus.SLEEPING
            self._park(session, run, status, current.scheduled_time, deadline)
            return STOP
        new = inspect(current).transient
        move_action(current, ActionStatus.RUNNING)
        current.start_time = now
        if new:  # kept detached, like the run; an attempt loaded here (a retry's) goes with the flush
            insert_detached(session, current)
        limit = parse_duration(action_spec.timeout) if action_spec.timeout else float("inf")
        workdir = self.ctx.work_root / run_id / f"{position}-{current.attempt}"
        refused: str | None = None  # a template that cannot render fails this action, not the engine
        kind_spec: Any = None
        try:
            rendered = render_action(
                action_spec,
                {**context, "actions": done, "getAction": lambda name: done.get(name, {})},
                workdir=workdir,
            )
            if action_spec.kind == "sql":
                from ara.crypto import is_sealed

                if is_sealed(rendered.spec["connection"]):
                    rendered.spec["connection"] = self.ctx.box.open(rendered.spec["connection"])
            kind_spec = type(getattr(action_spec, action_spec.kind)).model_validate(rendered.spec)
        except (AraError, ValueError) as exc:
            refused, rendered = str(exc), Rendered({})
        action_ctx = ActionContext(
            run_id=run_id,
            action_id=current.id,
            workdir=workdir,
            timeout=max(min(limit, (deadline - now).total_seconds()), 0.001),
            env={**{k: str(v) for k, v in spec.env.items()}, **rendered.env},
            secrets=self._secrets(run),
            cancelled=lambda: False,  # the run's CancelWatch, once the action runs
            settings=self.ctx.settings,
            records_playbook_id=run.records_playbook_id,
            params=context["params"],
            binds=rendered.binds,
            writer=self.ctx.writer,
            reader=self.ctx.reader,
            actor=run.created_by or _definition_owner(session, run),
        )
        return Prepared(action_ctx, kind_spec, refused, deadline, run, current)

    def _perform(self, run_id: str, prepared: Prepared, action_spec: Action, cancelled: CancelWatch, last: bool) -> str:
        """Run the prepared action (no transaction open meanwhile), then record its outcome."""
        action_ctx = replace(prepared.action_ctx, cancelled=cancelled)
        secrets = action_ctx.secrets
        try:
            if prepared.refused is not None:
                outcome = Outcome(False, {}, prepared.refused)
            else:
                outcome = runner_for(action_spec.kind)(prepared.kind_spec, action_ctx)
        except Exception as exc:
            log_crash(f"action {action_spec.name} of run {run_id} crashed", exc, secrets)
            outcome = Outcome(False, {}, f"internal error: {exc}")
        outcome, saved = self._save_files(outcome, secrets)
        return self._finish_action(prepared, action_spec, outcome, saved, last)

    def _save_files(self, outcome: Outcome, secrets: list[str]) -> tuple[Outcome, list[tuple[str, str, Digest]]]:
        """Scrubbed files into the artifact store before the transaction that describes them: an upload to a
        remote store never holds the database's write lock. A store that fails (full, unreachable, refused)
        fails the action with the reason, like any other failure of it (and its retries apply)."""
        saved = []
        for declared, local in outcome.files:
            try:
                with scrubbed_copy(local, secrets) as clean:
                    saved.append((declared, local.name, self.ctx.store.save(clean)))
            except OSError as exc:
                stored = f"artifact {declared} could not be stored: {type(exc).__name__}: {exc}"
                error = f"{outcome.error}; {stored}" if outcome.error else stored
                return replace(outcome, ok=False, error=error), saved
        return outcome, saved

    def _finish_action(
        self,
        prepared: Prepared,
        action_spec: Action,
        outcome: Outcome,
        saved: list[tuple[str, str, Digest]],
        last: bool,
    ) -> str:
        now, deadline = utcnow(), prepared.deadline
        with unit_of_work(self.ctx.writer) as session:
            run, action = _held(session, prepared.run, prepared.action)
            assert run is not None and action is not None
            run_id, action_id = run.id, action.id
            # Whatever the action produced is scrubbed here, once for every kind: results, errors and files.
            secrets = self._secrets(run)
            action.result = scrub_tree(outcome.result, secrets)
            action.error = scrub(outcome.error, secrets) if outcome.error else outcome.error
            action.end_time = now
            if action_spec.kind == "ansible":
                records.adopt(session, run, action_id)
            for declared, filename, digest in saved:
                self.ctx.store.record(
                    session, digest, run_id=run_id, action_id=action_id, path=declared, filename=filename
                )
            if run.status != RunStatus.RUNNING or outcome.cancelled:
                if action.status == ActionStatus.RUNNING:
                    move_action(action, ActionStatus.CANCELLED)
                self._settle(session, run, action, action_spec.kind)
                if run.status == RunStatus.RUNNING:
                    self._end(session, run, RunStatus.CANCELLED, "cancelled")
                return STOP
            if outcome.ok:
                move_action(action, ActionStatus.COMPLETED)
                self._settle(session, run, action, action_spec.kind)
                return self._next(session, run, last, action)
            move_action(action, ActionStatus.TIMED_OUT if outcome.timed_out else ActionStatus.FAILED)
            self._settle(session, run, action, action_spec.kind)
            if outcome.timed_out and now >= deadline:
                self._end(session, run, RunStatus.TIMED_OUT, f"run timed out after {run.timeout}s")
                return STOP
            retry = action_spec.retry
            if retry is not None and action.attempt <= retry.limit:
                wake = now + dt.timedelta(seconds=_backoff(retry, action.attempt))
                nxt = RunAction(
                    run_id=run_id,
                    name=action.name,
                    position=action.position,
                    attempt=action.attempt + 1,
                    status="scheduled",
                )
                session.add(nxt)
                move_action(nxt, ActionStatus.SLEEPING)
                nxt.scheduled_time = wake
                session.flush()
                if wake <= utcnow():
                    return AGAIN  # due already: this worker goes on with the next attempt
                self._park(session, run, RunStatus.RETRYING, wake, deadline)
                return STOP
            return self._next(session, run, last, action)

    # -- state changes --------------------------------------------------------------------------------------
    def _park(
        self, session: Session, run: PlaybookRun, status: RunStatus, until: dt.datetime, deadline: dt.datetime
    ) -> None:
        """Release the run until ``until``; it is made due then, or at its deadline if sooner (to time out)."""
        move_run(run, status)
        run.scheduled_time = min(until, deadline)
        run.worker_id = None
        write_changes(session, run)
        make_due(session, run.id, at=run.scheduled_time)

    def _settle(self, session: Session, run: PlaybookRun, action: RunAction, kind: str) -> None:
        """The finished attempt recorded and written, before anything can end the run (ending it ends the attempts
        the database still has unfinished)."""
        records.record_action(session, run, action, kind, self._recording)
        write_changes(session, action)

    def _end(self, session: Session, run: PlaybookRun, status: RunStatus, error: str | None) -> None:
        """End the run; its working directory goes once the end is committed (not while holding the write lock)."""
        end_run(session, run, status, error)
        write_changes(session, run)
        workdir = self.ctx.work_root / run.id
        after_commit(session, lambda: shutil.rmtree(workdir, ignore_errors=True))

    def _next(self, session: Session, run: PlaybookRun, last: bool, current: RunAction | None = None) -> str:
        """NEXT, or after the last action the run's end, in the caller's transaction (``current``: see
        ``_conclude``)."""
        if not last:
            return NEXT
        self._conclude(session, run, current)
        return STOP

    def _actions(self, session: Session, run_id: str) -> list[RunAction]:
        """The run's action attempts in order, in one query (the step needs its own and the finished ones)."""
        return list(session.scalars(_RUN_ACTIONS, {"run_id": run_id}))


def _held(session: Session, run: PlaybookRun, action: RunAction) -> tuple[PlaybookRun | None, RunAction | None]:
    """The run and its attempt as ``_prepare`` committed them (detached, written by ``write_changes``) while the run
    is unchanged since: still running for this executor, so nobody else wrote either row. Else (a cancel ended the
    run meanwhile) both as the database has them now, held by ``session``."""
    holder = session.connection().execute(_HOLDER, {"run_id": run.id}).first()
    if holder is not None and tuple(holder) == (run.status, run.worker_id):
        return run, action
    found = session.get(PlaybookRun, run.id, populate_existing=True)
    return found, session.get(RunAction, action.id, populate_existing=True)


def _done_actions(actions: list[RunAction]) -> dict[str, Any]:
    """What ``getAction("name")`` sees: the latest attempt of each finished action."""
    done: dict[str, Any] = {}
    for action in actions:
        if action.status in ACTION_TERMINAL:
            done[action.name] = {
                "status": action.status,
                "result": action.result or {},
                "error": action.error,
                "attempt": action.attempt,
                "retried": False,
            }
        elif action.name in done:
            done[action.name]["retried"] = True
    return done


def _first_failure(session: Session, run: PlaybookRun, current: RunAction | None) -> tuple[str, str | None] | None:
    """The name and error of the run's first failed attempt (by position, then attempt) that no later attempt
    retried; ``current`` as it is in memory, every other attempt as the database has it (Core reads: no flush).
    The first attempt of a one-action run's action is its only attempt: nothing to look up."""
    if current is not None and current.attempt == 1 and len(run.spec.get("actions", ())) == 1:
        return (current.name, current.error) if current.status in ACTION_FAILED else None
    run_id, connection = run.id, session.connection()
    failed = [
        (row.position, row.attempt, row.name, row.error)
        for row in connection.execute(_FAILED_ATTEMPTS, {"run_id": run_id})
        if current is None or row.id != current.id
    ]
    if current is not None and current.status in ACTION_FAILED:
        failed.append((current.position, current.attempt, current.name, current.error))
    for position, attempt, name, error in sorted(failed, key=lambda found: found[:2]):
        later = {"run_id": run_id, "position": position, "attempt": attempt}
        if connection.execute(_LATER_ATTEMPT, later).first() is None:
            return name, error
    return None


def _definition_owner(session: Session, run: PlaybookRun) -> str | None:
    """Who defined the playbook: a run a trigger fired has no creator, and acts as the definition's author."""
    return session.scalar(select(PlaybookDefinition.created_by).where(PlaybookDefinition.id == run.playbook_id))


def _targets(run: PlaybookRun) -> dict[str, Any]:
    return {k: getattr(run, k) for k in ("config_id", "check_id", "component_id") if getattr(run, k)}


def artifacts_of(session: Session, run_id: str) -> list[Artifact]:
    return list(session.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.created_at)))
