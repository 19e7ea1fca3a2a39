"""Objects the engine keeps between its transactions, written with Core statements: what lands in the database
is what a flush would have written, and nothing is written twice or lost."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from ara.crypto import SecretBox
from ara.db.detached import insert_detached, write_changes
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from ara.lifecycle.states import ActionStatus, move_action
from ara.playbooks.definitions import save_definition
from ara.playbooks.models import RunAction
from ara.playbooks.runs import create_run
from ara.settings import Settings
from tests.support.sql import statements_sent

Database = tuple[Engine, sessionmaker[Session], str]


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """A migrated database holding one run (no executor: nothing runs it)."""
    engine = make_engine(settings)
    upgrade(engine)
    box = SecretBox.from_settings(settings)
    factory = make_sessionmaker(engine)
    document = {
        "kind": "Playbook",
        "metadata": {"name": "p"},
        "spec": {"actions": [{"name": "a", "exec": {"script": "true"}}]},
    }
    with unit_of_work(factory) as session:
        definition = save_definition(session, document, box=box, created_by=None)[0]
        run = create_run(session, box, playbook_id=definition.id, request={}, identity=None, check_permission=False)
        run_id = run.id
    try:
        yield engine, factory, run_id
    finally:
        engine.dispose()


def _stored(factory: sessionmaker[Session], action_id: str) -> RunAction:
    with unit_of_work(factory) as session:
        found = session.get(RunAction, action_id)
        assert found is not None
        session.expunge(found)
        return found


def test_an_inserted_object_gets_its_column_defaults_and_stays_detached(
    database: Database,
) -> None:
    factory, run_id = database[1:]
    before = utcnow()
    action = RunAction(run_id=run_id, name="a", position=0, status="scheduled")
    with unit_of_work(factory) as session:
        insert_detached(session, action)
        assert inspect(action).detached  # the session's flush will not write it again
    stored = _stored(factory, action.id)
    assert action.id and stored.id == action.id  # the column's Python default, in the row and the object
    assert (stored.attempt, action.attempt) == (1, 1)
    assert stored.scheduled_time == action.scheduled_time and action.scheduled_time >= before
    assert (stored.status, stored.result, stored.records_task_id) == ("scheduled", None, None)
    assert action.result is None  # every attribute present: reading one never needs the session
    with unit_of_work(factory) as session:  # an unset JSON column is SQL NULL, as a flush leaves it, not JSON null
        is_null = select(RunAction.result.is_(None)).where(RunAction.id == action.id)
        assert session.scalar(is_null) is True


def test_only_changed_columns_are_written_once(database: Database) -> None:
    engine, factory, run_id = database
    action = RunAction(run_id=run_id, name="a", position=0, status="scheduled")
    with unit_of_work(factory) as session:
        insert_detached(session, action)
    ended = utcnow() + dt.timedelta(seconds=1)
    move_action(action, ActionStatus.RUNNING)
    action.end_time = ended
    with statements_sent(engine) as seen, unit_of_work(factory) as session:
        write_changes(session, action)
        write_changes(session, action)  # nothing changed since: no statement
    updates = [statement for _thread, statement, _params in seen if statement.startswith("UPDATE")]
    assert len(updates) == 1
    assert "status" in updates[0] and "end_time" in updates[0] and "result" not in updates[0]
    stored = _stored(factory, action.id)
    assert (stored.status, stored.end_time, stored.name) == ("running", ended, "a")


def test_an_object_the_session_holds_is_left_to_its_flush(database: Database) -> None:
    engine, factory, run_id = database
    action = RunAction(run_id=run_id, name="a", position=0, status="scheduled")
    with unit_of_work(factory) as session:
        insert_detached(session, action)
    with statements_sent(engine) as seen, unit_of_work(factory) as session:
        held = session.get(RunAction, action.id)
        assert held is not None
        move_action(held, ActionStatus.SKIPPED)
        write_changes(session, held)  # the flush at commit writes it, once
    updates = [statement for _thread, statement, _params in seen if statement.startswith("UPDATE")]
    assert len(updates) == 1
    assert _stored(factory, action.id).status == "skipped"
