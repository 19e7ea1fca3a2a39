"""Bad input gets a 4xx naming the field, never a 500, and nothing is half-written."""

from __future__ import annotations

import httpx
import pytest

from ara.clients.base import AraClient
from ara.clients.errors import ApiNotFound, BadRequest
from tests.support.factories import record_playbook


@pytest.fixture
def http(live_server: str) -> httpx.Client:
    with httpx.Client(base_url=live_server) as raw:
        yield raw


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"ansible_version": ["This field is required."], "path": ["This field is required."]}),
        ({"ansible_version": "2", "path": "/x", "status": "bogus"}, {"status": ['"bogus" is not a valid choice.']}),
        ({"ansible_version": "2", "path": "/x", "started": "yesterday"}, {"started": None}),
        ({"ansible_version": "2", "path": "x" * 256}, {"path": ["Ensure this field has no more than 255 characters."]}),
        ({"ansible_version": "2", "path": "/x", "labels": "notalist"}, {"labels": None}),
        ({"ansible_version": None, "path": "/x"}, {"ansible_version": ["This field may not be null."]}),
    ],
)
def test_playbook_field_errors(http: httpx.Client, body: dict, expected: dict) -> None:
    response = http.post("/api/v1/playbooks", json=body)
    assert response.status_code == 400
    data = response.json()
    assert set(data) == set(expected)
    for field, messages in expected.items():
        if messages is not None:
            assert data[field] == messages
    assert http.get("/api/v1/playbooks").json()["count"] == 0


def test_malformed_json_and_wrong_shapes(http: httpx.Client) -> None:
    for headers in ({"content-type": "application/json"}, {}):
        response = http.post("/api/v1/playbooks", content=b"{not json", headers=headers)
        assert response.status_code == 400
        assert response.json()["detail"].startswith("JSON parse error - ")
    response = http.post("/api/v1/playbooks", json=[1, 2])
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_unknown_ids_and_routes(http: httpx.Client) -> None:
    for path in ("/api/v1/playbooks/999", "/api/v1/playbooks/abc", "/api/v1/results/0", "/api/v1/nothing"):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}
    assert http.patch("/api/v1/tasks/12", json={"status": "failed"}).status_code == 404
    assert http.delete("/api/v1/hosts/12").status_code == 404
    assert http.post("/api/v1/latesthosts", json={}).status_code == 405


def test_foreign_keys_must_exist(client: AraClient) -> None:
    with pytest.raises(BadRequest) as caught:
        client.post("/api/v1/plays", playbook=4242, uuid="a8098c1a-f86e-11da-bd1a-00112444be1e")
    assert caught.value.body == {"playbook": ['Invalid pk "4242" - object does not exist.']}
    rec = record_playbook(client, tasks=())
    with pytest.raises(BadRequest) as caught:
        client.post(
            "/api/v1/results",
            playbook=rec.playbook["id"],
            play=rec.plays[0]["id"],
            task=777,
            host=rec.hosts["web1"]["id"],
            delegated_to=[888],
        )
    assert set(caught.value.body) == {"task", "delegated_to"}
    assert client.get("/api/v1/results")["count"] == 0


def test_a_failed_write_changes_nothing(client: AraClient) -> None:
    rec = record_playbook(client, tasks=())
    with pytest.raises(BadRequest):
        client.patch(f"/api/v1/playbooks/{rec.playbook['id']}", labels=["new-label"], status="nope")
    assert client.get("/api/v1/labels")["count"] == 0
    assert client.get(f"/api/v1/playbooks/{rec.playbook['id']}")["status"] == "completed"
    with pytest.raises(ApiNotFound):
        client.delete("/api/v1/records/31337")
