"""``agent``: run an app's agent as a step. The action starts an app run (trigger ``playbook``), waits for its end
without holding a transaction, and its result is the agent's answer ``{output_text, tool_calls, run_id, app_id}``; the
action's timeout and the playbook run's cancel end the app run too. The app run executes on the engine's
``agents`` queue, so a playbook run waiting here never holds the slot its agent needs."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ara.apps.bridge import app_for_actor, cancel_app_run
from ara.apps.models import AppRun
from ara.apps.runs import start_run, wait_for_end
from ara.db.session import unit_of_work
from ara.engine.actions.base import ActionContext, Outcome
from ara.errors import AraError
from ara.lifecycle.states import TERMINAL, RunStatus

#: How long one wait lasts before the action looks at its cancel flag and deadline again.
WAIT_SLICE = 0.5


def run_agent(spec: Any, ctx: ActionContext) -> Outcome:
    if ctx.writer is None or ctx.reader is None:
        return Outcome(False, {}, "agent actions need the engine's database")
    deadline = time.monotonic() + ctx.timeout
    try:
        with unit_of_work(ctx.writer) as session:
            app, user_id = app_for_actor(session, spec.app, ctx.actor)
            run, _ = start_run(
                session,
                ctx.settings,
                app,
                agent_id=spec.agent or None,
                input={**spec.input, "message": spec.message},
                trigger="playbook",
                # The same action attempt, executed again, finds its app run instead of starting another.
                idempotency_key=f"playbook-action:{ctx.action_id}",
                user_id=user_id,
            )
            run_pk, app_id = run.id, app.id
    except AraError as exc:
        return Outcome(False, {}, f"agent not started: {exc.message}")
    stopped: Outcome | None = None  # why this action stopped the app run, once it has
    while True:
        found = _read(ctx, run_pk)
        if found is None:
            return Outcome(False, {"app_id": app_id}, "the agent run is gone (its app was deleted)")
        result = {**found["result"], "run_id": found["run_id"], "app_id": app_id}
        if found["status"] == RunStatus.COMPLETED:  # even one that ended as it was being stopped
            return Outcome(True, result)
        if stopped is not None:
            return replace(stopped, result=result)
        if found["status"] in TERMINAL:
            return Outcome(False, result, found["error"] or f"agent run {found['status']}")
        if ctx.cancelled():
            stopped = Outcome(False, {}, "cancelled", cancelled=True)
            _cancel(ctx, run_pk, "the playbook run was cancelled")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            stopped = Outcome(False, {}, f"timed out after {ctx.timeout:g}s", timed_out=True)
            _cancel(ctx, run_pk, f"the playbook action timed out after {ctx.timeout:g}s")
            continue
        wait_for_end(ctx.reader, run_pk, min(WAIT_SLICE, left))


def _read(ctx: ActionContext, run_pk: str) -> dict[str, Any] | None:
    assert ctx.reader is not None
    with unit_of_work(ctx.reader) as session:
        run = session.get(AppRun, run_pk)
        if run is None:
            return None
        output = run.output or {}
        return {
            "status": run.status,
            "error": run.error,
            "run_id": run.run_id,
            "result": {"output_text": output.get("output_text", ""), "tool_calls": output.get("tool_calls", [])},
        }


def _cancel(ctx: ActionContext, run_pk: str, reason: str) -> None:
    assert ctx.writer is not None
    with unit_of_work(ctx.writer) as session:
        cancel_app_run(session, run_pk, reason)
