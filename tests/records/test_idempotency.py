"""``Idempotency-Key`` on creates: a repeated key answers the first object with its status and creates nothing,
also when two requests with one key race; without the header creates behave as ARA's."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import httpx
import pytest

from ara.clients.base import AraClient
from ara.clients.errors import BadRequest, Conflict
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.records import models as m
from ara.records.idempotency import prune
from ara.settings import Settings

PLAYBOOK = {"ansible_version": "2.19.0", "path": "/srv/site.yml", "status": "running"}


def key_header(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_repeated_key_answers_the_first_object_and_creates_nothing(client: AraClient) -> None:
    key = str(uuid.uuid4())
    first = client.send("POST", "/api/v1/playbooks", body=PLAYBOOK, headers=key_header(key))
    client.patch(f"/api/v1/playbooks/{first.json()['id']}", status="completed")
    again = client.send("POST", "/api/v1/playbooks", body={**PLAYBOOK, "path": "/other.yml"}, headers=key_header(key))
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "completed"  # the object as it is now, not as it was created
    assert again.json()["path"] == "/srv/site.yml"
    assert client.get("/api/v1/playbooks")["count"] == 1


def test_creates_without_the_header_are_not_deduplicated(client: AraClient) -> None:
    for _ in range(2):  # through ``request`` directly, as upstream ARA's client sends them: no key
        client.http.post(client.endpoint + "/api/v1/playbooks", json=PLAYBOOK).raise_for_status()
    assert client.get("/api/v1/playbooks")["count"] == 2


def test_every_create_of_the_client_carries_a_fresh_key(client: AraClient) -> None:
    client.post("/api/v1/playbooks", **PLAYBOOK)
    client.post("/api/v1/playbooks", **PLAYBOOK)
    assert client.get("/api/v1/playbooks")["count"] == 2


def test_a_key_reused_for_another_resource_or_malformed_is_refused(client: AraClient) -> None:
    key = str(uuid.uuid4())
    playbook = client.send("POST", "/api/v1/playbooks", body=PLAYBOOK, headers=key_header(key)).json()
    with pytest.raises(Conflict):
        client.send("POST", "/api/v1/labels", body={"name": "x"}, headers=key_header(key))
    with pytest.raises(BadRequest) as refused:
        client.send("POST", "/api/v1/labels", body={"name": "y"}, headers=key_header("k" * 256))
    assert "Idempotency-Key" in str(refused.value.body)
    assert client.get("/api/v1/labels")["count"] == 0
    assert client.get(f"/api/v1/playbooks/{playbook['id']}")["id"] == playbook["id"]


def test_racing_requests_with_one_key_create_one_object(live_server: str) -> None:
    key = str(uuid.uuid4())
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def post() -> None:
        with httpx.Client() as http:
            barrier.wait()
            answers.append(http.post(live_server + "/api/v1/playbooks", json=PLAYBOOK, headers=key_header(key)))

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answer.status_code for answer in answers) == [201] * 8, [a.text for a in answers]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert httpx.get(live_server + "/api/v1/playbooks").json()["count"] == 1


def test_old_keys_are_pruned(settings: Settings, client: AraClient) -> None:
    client.send("POST", "/api/v1/playbooks", body=PLAYBOOK, headers=key_header("old"))
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            assert prune(session, dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == 0
            assert prune(session, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 1
            assert session.get(m.RequestKey, "old") is None
    finally:
        engine.dispose()
    client.send("POST", "/api/v1/playbooks", body=PLAYBOOK, headers=key_header("old"))  # forgotten: creates again
    assert client.get("/api/v1/playbooks")["count"] == 2
