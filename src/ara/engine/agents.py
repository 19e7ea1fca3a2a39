"""One activation of an automation run (the ``agents`` queue): admit it (a short transaction), run its chat turn
outside any transaction, then complete it, or fail the attempt (a retry, or the end) in another."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ara.db.session import unit_of_work
from ara.engine.context import EngineContext
from ara.errors import AraError
from ara.runtime.agent.turns import INTERNAL
from ara.runtime.automations import runs
from ara.runtime.automations.models import AutomationJob
from ara.runtime.automations.turn import agent_turn

log = logging.getLogger("ara.engine")


def advance_automation(
    ctx: EngineContext, run_id: str, *, aborted: Callable[[], bool], on_admit: Callable[[object], None] | None = None
) -> bool:
    """Returns whether the run was admitted (as ``activation.advance`` does for playbook runs)."""
    with unit_of_work(ctx.writer) as session:
        run = runs.admit(session, run_id, ctx.worker_id)
        if run is None:
            return False
        if on_admit is not None:
            on_admit(run)
        job = session.get(AutomationJob, run.automation_id)
        user_id, payload = run.user_id, dict(job.payload) if job is not None else {}
    try:
        output = agent_turn(ctx.settings, ctx.reader, ctx.writer, user_id, payload, aborted)
    except AraError as exc:  # the model failed, the user has no session to start...: the run's reason
        reason = exc.message
    except Exception:  # a bug: logged, and said as the chat routes say it (the run never stays running)
        log.exception("automation run %s: its turn crashed", run_id)
        reason = INTERNAL
    else:
        with unit_of_work(ctx.writer) as session:
            runs.complete(session, run_id, ctx.worker_id, output)
        return True
    with unit_of_work(ctx.writer) as session:
        runs.fail_attempt(session, run_id, ctx.worker_id, reason)
    return True
