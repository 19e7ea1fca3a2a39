"""The condition the PostgreSQL clock uses to leave alone runs that only wait for a ``concurrency`` slot (their
slot's hand-off makes them due): it must pick exactly those, on both databases."""

from __future__ import annotations

from sqlalchemy import select

from ara.crypto import SecretBox
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.lifecycle.states import RunStatus, move_run
from ara.playbooks.admission import waiting_for_slot
from ara.playbooks.definitions import save_definition
from ara.playbooks.models import PlaybookRun
from ara.playbooks.runs import create_run
from ara.settings import Settings


def _definition(session: object, box: SecretBox, name: str, concurrency: int) -> str:
    spec = {"concurrency": concurrency, "actions": [{"name": "a", "exec": {"script": "true"}}]}
    document = {"kind": "Playbook", "metadata": {"name": name}, "spec": spec}
    return save_definition(session, document, box=box, created_by=None)[0].id  # type: ignore[arg-type]


def test_only_runs_held_back_by_their_playbooks_limit(settings: Settings) -> None:
    engine = make_engine(settings)
    upgrade(engine)
    box = SecretBox.from_settings(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:  # no executor attached: nothing executes
            limited = _definition(session, box, "limited", 2)
            free = _definition(session, box, "free", 0)
            runs = {
                name: create_run(
                    session, box, playbook_id=pid, request={}, identity=None, trigger="api", check_permission=False
                )
                for name, pid in (("first", limited), ("second", limited), ("third", limited), ("free", free))
            }
            session.flush()
            move_run(runs["first"], RunStatus.RUNNING)
            with_one_active = set(session.scalars(select(PlaybookRun.id).where(waiting_for_slot())))
            move_run(runs["second"], RunStatus.RUNNING)
            with_two_active = set(session.scalars(select(PlaybookRun.id).where(waiting_for_slot())))
    finally:
        engine.dispose()
    assert with_one_active == set()  # a slot is free: the waiting runs are not held back
    assert with_two_active == {runs["third"].id}  # the limit is reached; neither running nor unlimited runs count
