"""One activation of a run: admit and start it (a short transaction) and, if admitted, execute it until it ends or
parks.

Both executors call this and nothing else: they only decide when and where an activation happens."""

from __future__ import annotations

from collections.abc import Callable

from ara.db.session import unit_of_work
from ara.engine.context import EngineContext
from ara.engine.runner import RunRunner
from ara.playbooks.admission import admit


def advance(
    ctx: EngineContext, run_id: str, *, aborted: Callable[[], bool], on_admit: Callable[[object], None] | None = None
) -> bool:
    """Returns whether the run was admitted. ``on_admit(run)`` lets an executor stamp the run in the admitting
    transaction (the procrastinate executor records its job id there, so a cancel can abort that job)."""
    runner = RunRunner(ctx)
    with unit_of_work(ctx.writer) as session:
        run = admit(session, run_id, ctx.worker_id)
        if run is None:
            return False
        if on_admit is not None:
            on_admit(run)
        try:
            begun = runner.begin(session, run)
        except Exception as exc:  # a bug: the start's half-written rows go, the run is admitted again and failed
            session.rollback()
            run = admit(session, run_id, ctx.worker_id)
            if run is not None:
                if on_admit is not None:
                    on_admit(run)
                runner.crashed(session, run, exc)
            return run is not None
    runner.execute(run_id, aborted, begun)
    return True
