"""The playbooks' result counters (kept by database triggers) agree with the results there are, whatever
removed or moved them, and migration 0004 counts the results already recorded."""

from __future__ import annotations

from sqlalchemy import func, select

from ara.clients.offline import AraOfflineClient
from ara.db.migrate import downgrade, upgrade
from ara.db.session import make_engine
from ara.records import models as m
from ara.settings import Settings
from tests.support.factories import record_playbook


def counts(client: AraOfflineClient) -> dict[int, int]:
    page = client.get("/api/v1/playbooks", limit=100)
    return {p["id"]: p["items"]["results"] for p in page["results"]}


def actual(client: AraOfflineClient) -> dict[int, int]:
    page = client.get("/api/v1/playbooks", limit=100)
    return {p["id"]: client.get("/api/v1/results", playbook=p["id"], limit=1)["count"] for p in page["results"]}


def test_counters_follow_creates_deletes_cascades_and_moves(settings: Settings) -> None:
    client = AraOfflineClient(settings=settings)
    try:
        first = record_playbook(client, hosts=("a", "b", "c"))  # 2 tasks x 3 hosts
        second = record_playbook(client, path="/srv/other.yml")  # 2 tasks x 2 hosts
        one, two = first.playbook["id"], second.playbook["id"]
        assert counts(client) == {one: 6, two: 4}

        client.delete(f"/api/v1/results/{first.results[0]['id']}")
        assert counts(client) == {one: 5, two: 4}
        client.delete(f"/api/v1/hosts/{first.hosts['b']['id']}")  # its results go by ON DELETE CASCADE
        assert counts(client) == {one: 3, two: 4}
        client.patch(f"/api/v1/results/{second.results[0]['id']}", playbook=one)
        assert counts(client) == {one: 4, two: 3}
        client.patch(f"/api/v1/results/{second.results[1]['id']}", status="failed")  # not a move
        assert counts(client) == {one: 4, two: 3} == actual(client)
        client.delete(f"/api/v1/tasks/{second.tasks[1]['id']}")
        assert counts(client) == actual(client)
        assert client.get(f"/api/v1/playbooks/{two}")["items"]["results"] == actual(client)[two]
    finally:
        client.close()


def test_migration_counts_existing_results(settings: Settings) -> None:
    client = AraOfflineClient(settings=settings)
    try:
        recorded = record_playbook(client, hosts=("a", "b", "c", "d"))
    finally:
        client.close()
    engine = make_engine(settings)
    try:
        downgrade(engine, "0002")  # as a database recorded before the counters existed
        upgrade(engine)
        with engine.connect() as connection:
            stored = connection.scalar(select(m.Playbook.result_count).where(m.Playbook.id == recorded.playbook["id"]))
            total = connection.scalar(select(func.count()).select_from(m.Result))
        assert stored == total == len(recorded.results) == 8
    finally:
        engine.dispose()
