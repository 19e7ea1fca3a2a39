"""Create, retrieve, update, partial update and delete every records resource, through both clients."""

from __future__ import annotations

import pytest

from ara.clients.base import AraClient
from ara.clients.errors import ApiNotFound, BadRequest
from tests.support.factories import record_playbook


def test_playbook_lifecycle_and_computed_duration(client: AraClient) -> None:
    created = client.post(
        "/api/v1/playbooks",
        ansible_version="2.19.0",
        path="/srv/site.yml",
        status="running",
        started="2024-05-01T10:00:00+02:00",
        labels=["prod", "web"],
        arguments={"forks": 5},
        unknown_key="ignored",
    )
    assert created["status"] == "running"
    assert created["started"] == "2024-05-01T08:00:00Z"
    assert [label["name"] for label in created["labels"]] == ["prod", "web"]
    assert created["arguments"] == {"forks": 5}
    assert created["duration"] is None
    assert "unknown_key" not in created

    patched = client.patch(f"/api/v1/playbooks/{created['id']}", status="completed", ended="2024-05-01T08:01:01.5Z")
    assert patched["duration"] == "00:01:01.500000"
    assert patched["status"] == "completed"
    assert patched["path"] == "/srv/site.yml"

    replaced = client.put(
        f"/api/v1/playbooks/{created['id']}", ansible_version="2.18", path="/srv/other.yml", labels=["web"]
    )
    assert replaced["path"] == "/srv/other.yml"
    assert [label["name"] for label in replaced["labels"]] == ["web"]

    detailed = client.get(f"/api/v1/playbooks/{created['id']}")
    assert detailed["items"] == {"plays": 0, "tasks": 0, "results": 0, "hosts": 0, "files": 0, "records": 0}
    assert detailed["plays"] == []

    client.delete(f"/api/v1/playbooks/{created['id']}")
    with pytest.raises(ApiNotFound) as caught:
        client.get(f"/api/v1/playbooks/{created['id']}")
    assert caught.value.status_code == 404
    assert caught.value.body == {"detail": "Not found."}


def test_put_requires_the_required_fields(client: AraClient) -> None:
    created = client.post("/api/v1/playbooks", ansible_version="2.19.0", path="/a.yml")
    with pytest.raises(BadRequest) as caught:
        client.put(f"/api/v1/playbooks/{created['id']}", status="failed")
    assert caught.value.body == {"ansible_version": ["This field is required."], "path": ["This field is required."]}
    assert client.get(f"/api/v1/playbooks/{created['id']}")["status"] == "unknown"


def test_full_tree_items_and_cascading_delete(client: AraClient) -> None:
    rec = record_playbook(client, hosts=("a", "b", "c"), tasks=(("one", "ok"), ("two", "changed")))
    pid = rec.playbook["id"]
    detailed = client.get(f"/api/v1/playbooks/{pid}")
    assert detailed["items"] == {"plays": 1, "tasks": 2, "results": 6, "hosts": 3, "files": 1, "records": 0}

    play = client.get(f"/api/v1/plays/{rec.plays[0]['id']}")
    assert play["items"] == {"tasks": 2, "results": 6}
    assert play["playbook"]["id"] == pid and play["playbook"]["items"]["results"] == 6

    task = client.get(f"/api/v1/tasks/{rec.tasks[1]['id']}")
    assert task["items"] == {"results": 3}
    assert task["path"] == "/srv/site.yml"
    assert task["file"]["path"] == "/srv/site.yml" and task["file"]["sha1"]
    assert task["play"]["id"] == rec.plays[0]["id"]
    assert task["tags"] == ["t1"]

    result = client.get(f"/api/v1/results/{rec.results[-1]['id']}")
    assert result["status"] == "changed"
    assert result["content"]["msg"] == "two on c"
    assert result["host"]["name"] == "c"
    assert result["task"]["name"] == "two"

    client.delete(f"/api/v1/playbooks/{pid}")
    for kind in ("plays", "tasks", "results", "hosts", "files"):
        assert client.get(f"/api/v1/{kind}", playbook=pid)["count"] == 0


def test_hosts_are_get_or_create_and_latest_hosts_follow(client: AraClient) -> None:
    first = record_playbook(client, hosts=("web1",), tasks=())
    second = record_playbook(client, hosts=("web1",), tasks=())
    again = client.post("/api/v1/hosts", name="web1", playbook=second.playbook["id"])
    assert again["id"] == second.hosts["web1"]["id"]
    assert client.get("/api/v1/hosts", name="web1")["count"] == 2

    latest = client.get("/api/v1/latesthosts/web1")
    assert latest["host"]["id"] == second.hosts["web1"]["id"]
    assert latest["host"]["playbook"]["id"] == second.playbook["id"]

    client.delete(f"/api/v1/playbooks/{second.playbook['id']}")
    assert client.get("/api/v1/latesthosts/web1")["host"]["id"] == first.hosts["web1"]["id"]
    client.delete(f"/api/v1/hosts/{first.hosts['web1']['id']}")
    with pytest.raises(ApiNotFound):
        client.get("/api/v1/latesthosts/web1")


def test_host_facts_and_stats(client: AraClient) -> None:
    rec = record_playbook(client, hosts=("db",), tasks=())
    host_id = rec.hosts["db"]["id"]
    client.patch(f"/api/v1/hosts/{host_id}", facts={"ansible_os_family": "Debian"}, ok=3, failed=1, changed=2)
    detail = client.get(f"/api/v1/hosts/{host_id}")
    assert detail["facts"] == {"ansible_os_family": "Debian"}
    assert (detail["ok"], detail["failed"], detail["changed"]) == (3, 1, 2)
    listed = client.get("/api/v1/hosts", playbook=rec.playbook["id"])["results"][0]
    assert "facts" not in listed and listed["playbook"] == rec.playbook["id"]


def test_files_deduplicate_content_by_sha1(client: AraClient) -> None:
    one = record_playbook(client, tasks=())
    two = record_playbook(client, tasks=())
    a = client.post("/api/v1/files", playbook=one.playbook["id"], path="/x/tasks.yml", content="same ✓ content")
    b = client.post("/api/v1/files", playbook=two.playbook["id"], path="/x/tasks.yml", content="same ✓ content")
    assert a["sha1"] == b["sha1"] and a["id"] != b["id"]
    again = client.post("/api/v1/files", playbook=one.playbook["id"], path="/x/tasks.yml", content="same ✓ content")
    assert again["id"] == a["id"]
    assert client.get(f"/api/v1/files/{a['id']}")["content"] == "same ✓ content"
    assert "content" not in client.get("/api/v1/files", path="tasks.yml")["results"][0]


@pytest.mark.parametrize(
    ("value", "kind"),
    [("some text", "text"), ("https://example.org", "url"), ({"k": [1, 2]}, "dict"), (["a", "b"], "list")],
)
def test_records_keep_values_and_types(client: AraClient, value: object, kind: str) -> None:
    rec = record_playbook(client, tasks=())
    created = client.post("/api/v1/records", playbook=rec.playbook["id"], key="k", value=value, type=kind)
    assert created["value"] == value and created["type"] == kind
    detail = client.get(f"/api/v1/records/{created['id']}")
    assert detail["value"] == value and detail["playbook"]["id"] == rec.playbook["id"]
    with pytest.raises(BadRequest) as caught:
        client.post("/api/v1/records", playbook=rec.playbook["id"], key="k", value="dup", type="text")
    assert "non_field_errors" in caught.value.body
    assert client.get("/api/v1/records", playbook=rec.playbook["id"], key="k")["count"] == 1


def test_labels_are_unique_by_name(client: AraClient) -> None:
    label = client.post("/api/v1/labels", name="nightly")
    with pytest.raises(BadRequest) as caught:
        client.post("/api/v1/labels", name="nightly")
    assert caught.value.body == {"name": ["label with this name already exists."]}
    assert client.patch(f"/api/v1/labels/{label['id']}", name="weekly")["name"] == "weekly"
    client.delete(f"/api/v1/labels/{label['id']}")
    assert client.get("/api/v1/labels")["count"] == 0


def test_results_with_delegation(client: AraClient) -> None:
    rec = record_playbook(client, hosts=("app", "lb"), tasks=(("t", "ok"),))
    created = client.post(
        "/api/v1/results",
        playbook=rec.playbook["id"],
        play=rec.plays[0]["id"],
        task=rec.tasks[0]["id"],
        host=rec.hosts["app"]["id"],
        delegated_to=[rec.hosts["lb"]["id"]],
        status="ok",
    )
    assert created["delegated_to"] == [rec.hosts["lb"]["id"]]
    detail = client.get(f"/api/v1/results/{created['id']}")
    assert [h["name"] for h in detail["delegated_to"]] == ["lb"]
    listed = client.get("/api/v1/results", delegated_to=rec.hosts["lb"]["id"])
    assert [r["id"] for r in listed["results"]] == [created["id"]]
