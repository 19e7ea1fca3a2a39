"""One activation of a run: admit it (a short transaction) and, if admitted, execute it until it ends or parks.

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
    with unit_of_work(ctx.writer) as session:
        run = admit(session, run_id, ctx.worker_id)
        if run is not None and on_admit is not None:
            on_admit(run)
    if run is None:
        return False
    RunRunner(ctx).execute(run_id, aborted)
    return True
