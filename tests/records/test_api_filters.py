"""Filters, ordering and pagination behave as ARA's (django-filter / DRF) do."""

from __future__ import annotations

import pytest

from ara.clients.base import AraClient
from ara.clients.errors import BadRequest
from tests.support.factories import record_playbook


@pytest.fixture
def three_playbooks(client: AraClient) -> list[dict]:
    return [
        record_playbook(
            client,
            path="/srv/alpha/site.yml",
            status="completed",
            labels=("prod",),
            started="2024-01-01T00:00:00Z",
            ended="2024-01-01T00:10:00Z",
            name="Alpha Deploy",
            controller="ctl-1",
            user="alice",
            tasks=(("a1", "ok"), ("a2", "changed")),
        ).playbook,
        record_playbook(
            client,
            path="/srv/beta/site.yml",
            status="failed",
            labels=("prod", "Nightly"),
            started="2024-02-01T00:00:00Z",
            ended="2024-02-01T00:01:00Z",
            name="beta",
            controller="ctl-2",
            user="bob",
            tasks=(("b1", "failed"), ("b2", "ignored"), ("b3", "skipped")),
        ).playbook,
        record_playbook(
            client,
            path="/srv/gamma/other.yml",
            status="running",
            started="2024-03-01T00:00:00Z",
            ended=None,
            tasks=(("g1", "unreachable"),),
        ).playbook,
    ]


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["results"]]


def test_playbook_filters(client: AraClient, three_playbooks: list[dict]) -> None:
    alpha, beta, gamma = (p["id"] for p in three_playbooks)
    assert ids(client.get("/api/v1/playbooks")) == [gamma, beta, alpha]  # newest first
    assert ids(client.get("/api/v1/playbooks", status="failed")) == [beta]
    assert ids(client.get("/api/v1/playbooks", status=["failed", "running"])) == [gamma, beta]
    assert ids(client.get("/api/v1/playbooks", name="alpha")) == [alpha]  # icontains
    assert ids(client.get("/api/v1/playbooks", path="SITE.yml")) == [beta, alpha]
    assert ids(client.get("/api/v1/playbooks", label="nightly")) == [beta]  # iexact
    assert ids(client.get("/api/v1/playbooks", label="prod")) == [beta, alpha]
    assert ids(client.get("/api/v1/playbooks", controller="ctl-2")) == [beta]
    assert ids(client.get("/api/v1/playbooks", user="ALI")) == [alpha]
    assert ids(client.get("/api/v1/playbooks", started_after="2024-01-15T00:00:00Z")) == [gamma, beta]
    assert ids(client.get("/api/v1/playbooks", started_before="2024-01-15T00:00:00")) == [alpha]
    assert ids(client.get("/api/v1/playbooks", ended_after="2024-01-15T00:00:00Z")) == [beta]
    assert ids(client.get("/api/v1/playbooks", unknown_filter="x")) == [gamma, beta, alpha]


def test_ordering(client: AraClient, three_playbooks: list[dict]) -> None:
    alpha, beta, gamma = (p["id"] for p in three_playbooks)
    assert ids(client.get("/api/v1/playbooks", order="started")) == [alpha, beta, gamma]
    assert ids(client.get("/api/v1/playbooks", order="-started")) == [gamma, beta, alpha]
    assert ids(client.get("/api/v1/playbooks", order="duration", status=["completed", "failed"])) == [beta, alpha]
    with pytest.raises(BadRequest) as caught:
        client.get("/api/v1/playbooks", order="-nonsense")
    assert caught.value.status_code == 400 and "order" in caught.value.body


def test_pagination_links(client: AraClient, three_playbooks: list[dict]) -> None:
    alpha, beta, gamma = (p["id"] for p in three_playbooks)
    first = client.get("/api/v1/playbooks", limit=2)
    assert first["count"] == 3 and ids(first) == [gamma, beta] and first["previous"] is None
    assert "limit=2" in first["next"] and "offset=2" in first["next"]
    second = client.get(first["next"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert ids(second) == [alpha] and second["next"] is None
    assert "offset" not in second["previous"] and "limit=2" in second["previous"]
    assert ids(client.get("/api/v1/playbooks", limit="junk")) == [gamma, beta, alpha]


def test_result_filters_and_shown_status(client: AraClient, three_playbooks: list[dict]) -> None:
    alpha, beta, gamma = (p["id"] for p in three_playbooks)
    shown = sorted({r["status"] for r in client.get("/api/v1/results", limit=100)["results"]})
    assert shown == ["changed", "failed", "ignored", "ok", "skipped", "unreachable"]

    failed = client.get("/api/v1/results", status="failed")
    assert failed["count"] == 4  # b1 and b2 (ignored is stored failed) on two hosts
    assert {r["playbook"] for r in failed["results"]} == {beta}
    not_ignored = client.get("/api/v1/results", status="failed", ignore_errors="false")
    assert not_ignored["count"] == 2 and {r["status"] for r in not_ignored["results"]} == {"failed"}
    assert client.get("/api/v1/results", status="failed", ignore_errors="True")["count"] == 2
    assert client.get("/api/v1/results", changed="true")["count"] == 2
    assert client.get("/api/v1/results", status=["unreachable", "skipped"])["count"] == 4
    assert client.get("/api/v1/results", playbook=alpha, host_name="WEB1")["count"] == 2
    assert client.get("/api/v1/results", task_name="b")["count"] == 6
    with pytest.raises(BadRequest) as caught:
        client.get("/api/v1/results", status="changed")  # shown, not stored: ARA refuses it too
    assert "status" in caught.value.body
    with pytest.raises(BadRequest) as caught:
        client.get("/api/v1/results", playbook="abc")
    assert caught.value.body == {"playbook": ["Enter a number."]}


def test_task_play_host_filters(client: AraClient, three_playbooks: list[dict]) -> None:
    alpha, beta, gamma = (p["id"] for p in three_playbooks)
    assert client.get("/api/v1/tasks", playbook=beta)["count"] == 3
    assert client.get("/api/v1/tasks", status="failed", playbook=beta)["count"] == 1
    assert client.get("/api/v1/tasks", playbook_name="alpha")["count"] == 2
    assert client.get("/api/v1/tasks", playbook_path="gamma")["count"] == 1
    assert client.get("/api/v1/tasks", path="/srv/beta")["count"] == 3
    assert client.get("/api/v1/tasks", action="COMMAND")["count"] == 6
    assert client.get("/api/v1/tasks", handler="false")["count"] == 6
    assert client.get("/api/v1/tasks", handler="true")["count"] == 0
    assert client.get("/api/v1/tasks", name="b2")["results"][0]["items"] == {"results": 2}
    play = client.get("/api/v1/plays", playbook=alpha)["results"][0]
    assert ids(client.get("/api/v1/plays", uuid=play["uuid"])) == [play["id"]]
    assert ids(client.get("/api/v1/plays", uuid=play["uuid"].upper())) == [play["id"]]
    with pytest.raises(BadRequest) as caught:
        client.get("/api/v1/plays", uuid="not-a-uuid")
    assert caught.value.body == {"uuid": ["Enter a valid UUID."]}
    assert client.get("/api/v1/plays", status="completed")["count"] == 3
    assert client.get("/api/v1/plays", name="main")["count"] == 3

    host = client.get("/api/v1/hosts", playbook=beta, name="web2")["results"][0]
    client.patch(f"/api/v1/hosts/{host['id']}", failed=2, ok=1)
    assert ids(client.get("/api/v1/hosts", failed__gt=0)) == [host["id"]]
    assert client.get("/api/v1/hosts", ok__lt=1)["count"] == 5
    assert client.get("/api/v1/hosts", playbook_name="beta")["count"] == 2
    assert client.get("/api/v1/latesthosts", failed__gt=1)["count"] == 0  # latest web2 is gamma's


def test_task_message_count_filters(client: AraClient, three_playbooks: list[dict]) -> None:
    beta = three_playbooks[1]["id"]
    task = client.get("/api/v1/tasks", playbook=beta, name="b1")["results"][0]
    client.patch(f"/api/v1/tasks/{task['id']}", warnings=["w1", "w2"], exceptions=["boom"])
    assert ids(client.get("/api/v1/tasks", warnings_count__gt=1)) == [task["id"]]
    assert ids(client.get("/api/v1/tasks", exceptions_count__gt=0)) == [task["id"]]
    assert client.get("/api/v1/tasks", deprecations_count__lt=1)["count"] == 6
