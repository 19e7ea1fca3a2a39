"""The clock's tick on a quiet database: it validates a definition's spec once per saved version (not at every
tick), follows a saved change and a deletion, and takes no write lock when nothing is overdue."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine import housekeeping
from ara.engine.context import EngineContext
from ara.playbooks.definitions import delete_definition, save_definition
from ara.server.app import create_app
from ara.settings import Settings
from tests.support.sql import statements_sent

ACTIONS = [{"name": "a", "exec": {"script": "true"}}]


@pytest.fixture
def ctx(settings: Settings) -> Iterator[EngineContext]:
    app = create_app(settings, workers=False)
    context: EngineContext = app.state.ara.engine_context
    yield context
    context.engine.dispose()


def _save(ctx: EngineContext, every: str, **spec: Any) -> str:
    document = {"name": "ticking", "spec": {"on": {"schedule": [{"schedule": every}]}, "actions": ACTIONS, **spec}}
    with unit_of_work(ctx.writer) as session:
        definition, _ = save_definition(session, document, box=ctx.box, created_by=None, upsert=True)
        return definition.id


def _schedules(ctx: EngineContext) -> dict[str, list[str]]:
    return {pid: [s.schedule for s in spec.on.schedule] for pid, _, spec in housekeeping._live_specs(ctx)}


def test_a_spec_is_read_once_per_saved_version_and_follows_changes(ctx: EngineContext) -> None:
    playbook_id = _save(ctx, "@every 1s")
    assert _schedules(ctx) == {playbook_id: ["@every 1s"]}

    with statements_sent(ctx.engine) as sent:
        assert _schedules(ctx) == {playbook_id: ["@every 1s"]}
    read = [statement for _, statement, _ in sent if statement.lstrip().upper().startswith("SELECT")]
    assert len(read) == 1 and "spec" not in read[0].split("FROM")[0], read  # versions only, no spec

    assert _save(ctx, "@every 2s") == playbook_id  # replaced under the same name: a new version
    assert _schedules(ctx) == {playbook_id: ["@every 2s"]}

    with unit_of_work(ctx.writer) as session:
        delete_definition(session, playbook_id)
    assert _schedules(ctx) == {}
    assert ctx.trigger_specs == {}


def test_an_invalid_stored_spec_is_left_out_and_logged_once(
    ctx: EngineContext, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy import update

    from ara.playbooks.models import PlaybookDefinition

    good = _save(ctx, "@every 1s")
    with unit_of_work(ctx.writer) as session:  # as an older release might have stored it
        session.execute(
            update(PlaybookDefinition)
            .where(PlaybookDefinition.id == good)
            .values(spec={"actions": "not a list"}, updated_at=utcnow())
        )
    with caplog.at_level(logging.WARNING, logger="ara.engine"):
        assert _schedules(ctx) == {}
        assert _schedules(ctx) == {}
    warned = [r for r in caplog.records if "invalid spec" in r.getMessage()]
    assert len(warned) == 1, warned


def test_expiry_takes_no_write_lock_when_nothing_is_overdue(ctx: EngineContext) -> None:
    _save(ctx, "@every 1s")
    with statements_sent(ctx.engine) as sent:
        housekeeping.expire_overdue(ctx, utcnow())
    assert [s for _, s, _ in sent if s == "BEGIN IMMEDIATE" or s.lstrip().upper().startswith("UPDATE")] == []
    assert any(s.lstrip().upper().startswith("SELECT") for _, s, _ in sent)
