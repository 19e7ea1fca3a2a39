"""Server-side expiry of playbooks whose callback went silent: the playbook and its running plays and tasks
become ``expired`` after the configured silence; anything recorded recently keeps a playbook running; a late
final PATCH still completes it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from ara.clients.offline import AraOfflineClient
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.records import models as m
from ara.records.expiry import expire_silent_playbooks
from ara.settings import Settings
from tests.support.factories import record_playbook


def age(settings: Settings, seconds: float, *models: type) -> None:
    """Pretend every row of ``models`` was last written ``seconds`` ago."""
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
            for model in models:
                values = {"updated": when, "started": when} if model is m.Result else {"updated": when}
                session.execute(update(model).values(**values))
    finally:
        engine.dispose()


def expire(settings: Settings, silence: float) -> list[int]:
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return expire_silent_playbooks(session, now=dt.datetime.now(dt.UTC), silence=silence)
    finally:
        engine.dispose()


def test_silent_running_playbooks_expire_with_their_running_plays_and_tasks(settings: Settings) -> None:
    with AraOfflineClient(settings=settings) as client:
        silent = record_playbook(client, status="running", ended=None)
        busy = record_playbook(client, status="running", ended=None)
        done = record_playbook(client, status="completed")
        for task in silent.tasks + busy.tasks:
            client.patch(f"/api/v1/tasks/{task['id']}", status="running")
        age(settings, 600, m.Playbook, m.Play, m.Task, m.Result)
        # A result recorded just now keeps ``busy`` running, without any write to its playbook.
        client.post(
            "/api/v1/results",
            playbook=busy.playbook["id"],
            play=busy.plays[0]["id"],
            task=busy.tasks[0]["id"],
            host=next(iter(busy.hosts.values()))["id"],
            status="ok",
        )
        assert expire(settings, silence=3600) == []  # not silent for that long yet
        assert expire(settings, silence=300) == [silent.playbook["id"]]
        assert expire(settings, silence=0) == []  # 0 disables
        get = client.get
        assert get(f"/api/v1/playbooks/{silent.playbook['id']}")["status"] == "expired"
        assert {t["status"] for t in get("/api/v1/tasks", playbook=silent.playbook["id"])["results"]} == {"expired"}
        assert {p["status"] for p in get("/api/v1/plays", playbook=silent.playbook["id"])["results"]} <= {
            "expired",
            "completed",
        }
        assert get(f"/api/v1/playbooks/{busy.playbook['id']}")["status"] == "running"
        assert get(f"/api/v1/playbooks/{done.playbook['id']}")["status"] == "completed"
        # A late replay's final PATCH completes the expired playbook.
        late = client.patch(
            f"/api/v1/playbooks/{silent.playbook['id']}", status="completed", ended="2024-05-01T10:10:00Z"
        )
        assert late["status"] == "completed"
