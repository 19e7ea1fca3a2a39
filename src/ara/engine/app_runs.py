"""One activation of an app run (kind ``app`` on the ``agents`` queue): admit it and open its records playbook (a
short transaction), execute the agent outside any transaction (``apps.execution``; each log row it writes commits
on its own, so streams show it at once), then complete or fail it in another. The run's ending
(``apps.run_moves``) writes ``run.completed`` / ``run.failed``, closes the playbook and queues webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from ara.apps import execution, recording, run_moves
from ara.apps.logs import emit
from ara.apps.models import App, AppRun
from ara.apps.secrets_store import secret_values
from ara.db.session import unit_of_work
from ara.engine.context import EngineContext
from ara.errors import AraError
from ara.redaction import scrub, scrub_tree

log = logging.getLogger("ara.engine")
#: A crash's reason as the run says it (the details go to the server's log, never to the caller).
INTERNAL = "internal error: the agent run failed (the server's log has the details)"


def advance_app_run(
    ctx: EngineContext, run_pk: str, *, aborted: Callable[[], bool], on_admit: Callable[[object], None] | None = None
) -> bool:
    """Returns whether the run was admitted (as ``activation.advance`` does for playbook runs). The admission
    commits alone: whatever fails after it (opening its records, reading secrets, the agent) fails the run with
    its reason, so a run never stays ``scheduled`` or ``running`` behind a rolled-back admission."""
    with unit_of_work(ctx.writer) as session:
        run = run_moves.admit(session, run_pk, ctx.worker_id)
        if run is None:
            return False
        if on_admit is not None:
            on_admit(run)
    hidden: list[str] = []
    try:
        prepared = _prepare(ctx, run_pk)
        if prepared is None:  # deleted while due: the cascade takes the run too; nothing to execute
            return True
        request, hidden = prepared
        app_id, run_id = request.app_id, request.run_id

        def log_row(event_type: str, message: str, level: str = "info") -> None:
            with unit_of_work(ctx.writer) as own:
                emit(own, app_id, run_id, event_type, scrub(message, hidden), level)

        outcome = execution.execute(ctx.settings, ctx.reader, ctx.writer, request, log=log_row, aborted=aborted)
    except AraError as exc:  # the model failed, the prompt function raised...: the run's reason
        reason = scrub(exc.message, hidden)
    except Exception:  # a bug: logged here, said plainly to the caller (the run never stays running)
        log.exception("app run %s: its execution crashed", run_pk)
        reason = INTERNAL
    else:
        output = scrub_tree({"output_text": outcome.output_text, "tool_calls": outcome.tool_calls}, hidden)
        with unit_of_work(ctx.writer) as session:
            run_moves.complete(session, run_pk, ctx.worker_id, output)
        return True
    with unit_of_work(ctx.writer) as session:
        run_moves.fail(session, run_pk, ctx.worker_id, reason)
    return True


def _prepare(ctx: EngineContext, run_pk: str) -> tuple[execution.RunRequest, list[str]] | None:
    """In one transaction after the admission: open the run's records playbook, log ``run.started`` and take
    what the execution needs (None when the app is gone)."""
    with unit_of_work(ctx.writer) as session:
        run = session.get(AppRun, run_pk)
        app = session.get(App, run.app_id) if run is not None else None
        if run is None or app is None:
            return None
        run.playbook_id = recording.open_playbook(session, app, run)
        emit(
            session,
            app.id,
            run.run_id,
            "run.started",
            f"agent {run.agent_id} started on worker {ctx.worker_id} (attempt {run.attempt})",
        )
        request = execution.RunRequest(
            app_id=app.id,
            app_slug=app.slug,
            run_pk=run.id,
            run_id=run.run_id,
            agent_id=run.agent_id,
            input=dict(run.input or {}),
            manifest=dict(app.manifest or {}),
            owner_id=app.owner_id,
            playbook_id=run.playbook_id,
            warmup=run.warmup,
            trigger=run.trigger,
        )
        return request, _secrets(ctx, session, app.id)


def _secrets(ctx: EngineContext, session: Session, app_id: str) -> list[str]:
    """The app's secret values: never in a run's answer, reason or log rows."""
    return [value for value in secret_values(session, ctx.box, app_id).values() if value]
