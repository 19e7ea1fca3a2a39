"""Listing runs (``runs.list_runs`` / ``runs.count_runs``, behind ``GET /playbook/runs`` and the UI's pager) and a
page's question "may this person press that button" (``permissions.allowed``), on SQLite and PostgreSQL."""

from __future__ import annotations

from ara.db.session import unit_of_work
from ara.playbooks import definitions, runs
from ara.playbooks.permissions import allowed
from ara.server.app import create_app
from ara.settings import Settings
from ara.users.service import Identity

ADMIN = Identity(user_id=1, username="admin", role="admin")
SPEC = {"actions": [{"name": "a", "exec": {"script": "true"}}]}
GATED = {**SPEC, "approval": {"approvers": {"people": ["someone"]}}}


def test_runs_page_newest_first_filtered_and_counted(settings: Settings) -> None:
    app = create_app(settings, workers=False)
    box = app.state.ara.engine_context.box
    try:
        with unit_of_work(app.state.ara.writer) as session:
            plain, _ = definitions.save_definition(session, {"name": "plain", "spec": SPEC}, box=box, created_by="t")
            gated, _ = definitions.save_definition(session, {"name": "gated", "spec": GATED}, box=box, created_by="t")
            started = [
                runs.create_run(session, box, playbook_id=d.id, request={}, identity=ADMIN).id
                for d in (plain, gated, gated, plain, gated)
            ]
        with unit_of_work(app.state.ara.reader) as session:
            assert [r.id for r in runs.list_runs(session, limit=10)] == started[::-1]
            assert [r.id for r in runs.list_runs(session, limit=2, offset=1)] == started[::-1][1:3]
            pending = runs.list_runs(session, statuses=["pending_approval"], limit=10)
            assert [r.id for r in pending] == [started[4], started[2], started[1]]
            assert runs.count_runs(session) == 5
            assert runs.count_runs(session, statuses=["pending_approval", "scheduled"]) == 5
            assert runs.count_runs(session, statuses=["completed"]) == 0
            assert runs.count_runs(session, playbook_id=plain.id) == 2
            assert runs.count_runs(session, playbook_id=plain.id, statuses=["pending_approval"]) == 0
            viewer = Identity(user_id=2, username="v", role="viewer")
            assert allowed(session, viewer, plain.id, "read") and not allowed(session, viewer, plain.id, "run")
            assert not allowed(session, None, plain.id, "read")
            assert allowed(session, ADMIN, plain.id, "cancel")
    finally:
        app.state.ara.engine.dispose()
