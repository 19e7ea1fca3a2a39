"""The live stream's reads on SQLite and PostgreSQL: rows after a cursor, parents before their results, batches
that lose nothing, tasks that ended since; and the failed-first order. (The stream itself, to its end, is read
over HTTP in tests/web/test_records_pages.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.records import live
from ara.records import models as m
from ara.records.live import Cursor, changes_since, current_cursor, running_tasks
from ara.records.resources import RESOURCES
from ara.records.resources.results import Results
from ara.server.app import create_app
from ara.server.state import AppState
from ara.settings import Settings


@pytest.fixture
def state(settings: Settings) -> Iterator[AppState]:
    app = create_app(settings, workers=False)
    yield app.state.ara
    app.state.ara.engine.dispose()


def seed(session: Session, *, results: int = 6) -> int:
    """A running playbook: two hosts, three tasks, ``results`` results alternating hosts, every third failed."""

    def add(name: str, body: dict[str, Any]) -> int:
        return int(RESOURCES[name].add(session, body).id)

    pb = add("playbooks", {"path": "/p.yml", "ansible_version": "2.19", "status": "running"})
    play = add("plays", {"uuid": "0e0e0e0e-0000-0000-0000-000000000000", "playbook": pb})
    file = add("files", {"path": "/p.yml", "content": "- hosts: all\n", "playbook": pb})
    hosts = [add("hosts", {"name": f"h{i}", "playbook": pb}) for i in range(2)]
    tasks = [
        add(
            "tasks",
            {
                "name": f"t{i}",
                "action": "debug",
                "lineno": i + 1,
                "handler": False,
                "status": "running",
                "play": play,
                "file": file,
                "playbook": pb,
            },
        )
        for i in range(3)
    ]
    for i in range(results):
        status = "failed" if i % 3 == 1 else "ok"
        body = {"status": status, "host": hosts[i % 2], "task": tasks[i * 3 // results], "play": play, "playbook": pb}
        add("results", body)
    return int(pb)


def test_changes_come_parents_first_and_resume_after_the_cursor(state: AppState) -> None:
    with unit_of_work(state.writer) as session:
        pb = seed(session)
    with unit_of_work(state.reader) as session:
        first = changes_since(session, pb, Cursor())
        assert [h["name"] for h in first.hosts] == ["h0", "h1"]
        assert [t["name"] for t in first.tasks] == ["t0", "t1", "t2"]
        assert len(first.results) == 6 and first.running and not first.full
        assert {r["host_name"] for r in first.results} == {"h0", "h1"}
        assert first.cursor == current_cursor(session, pb)
        again = changes_since(session, pb, first.cursor)
        assert (again.hosts, again.tasks, again.results) == ([], [], [])
        running = [t["id"] for t in first.tasks]
        assert changes_since(session, pb, first.cursor, running).finished_tasks == []  # all still running
    with unit_of_work(state.writer) as session:
        session.execute(update(m.Task).where(m.Task.id == running[0]).values(status="completed"))
    with unit_of_work(state.reader) as session:
        ended = changes_since(session, pb, first.cursor, running).finished_tasks
        assert [(t["id"], t["status"]) for t in ended] == [(running[0], "completed")]
        assert running_tasks(session, pb, first.cursor.task, 10) == set(running[1:])
    with pytest.raises(Exception, match="Not found"), unit_of_work(state.reader) as session:
        changes_since(session, pb + 1000, Cursor())


def test_small_batches_lose_nothing_and_never_send_a_result_before_its_task(
    state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    with unit_of_work(state.writer) as session:
        pb = seed(session, results=9)
    monkeypatch.setattr(live, "BATCH", 2)
    cursor, tasks, results = Cursor(), set(), []
    with unit_of_work(state.reader) as session:
        for _ in range(20):
            changes = changes_since(session, pb, cursor)
            tasks |= {t["id"] for t in changes.tasks}
            assert all(r["task"] in tasks for r in changes.results)
            results += [r["id"] for r in changes.results]
            cursor = changes.cursor
            if not changes.full and not (changes.tasks or changes.results or changes.hosts):
                break
    assert len(results) == len(set(results)) == 9
    assert len(tasks) == 3


def test_failed_first_puts_failures_on_top_then_newest(state: AppState) -> None:
    with unit_of_work(state.writer) as session:
        pb = seed(session)
    with unit_of_work(state.reader) as session:
        params = {"playbook": [str(pb)]}
        _, plain, _, _ = RESOURCES["results"].list(session, params, 50)
        _, ordered, _, _ = RESOURCES["results"].list(session, params, 50, default_order=Results.failed_first())
    newest = [r["id"] for r in plain]
    failing = [r["id"] for r in plain if r["status"] == "failed"]
    assert newest == sorted(newest, reverse=True) and len(failing) == 2
    assert [r["id"] for r in ordered] == failing + [i for i in newest if i not in failing]
