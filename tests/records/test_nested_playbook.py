"""The detailed playbook embeds plays -> tasks -> results (ARA 1.4's shape) in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from ara.clients.base import AraClient
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.factories import record_playbook


def test_nested_shape(client: AraClient) -> None:
    rec = record_playbook(client, hosts=("h1", "h2"), tasks=(("first", "ok"), ("second", "failed")))
    detailed = client.get(f"/api/v1/playbooks/{rec.playbook['id']}")
    [play] = detailed["plays"]
    assert play["name"] == "main play" and play["status"] == "completed"
    assert [t["name"] for t in play["tasks"]] == ["first", "second"]
    second = play["tasks"][1]
    assert second["status"] == "failed" and second["action"] == "command" and second["lineno"] == 2
    assert second["file"] == {"id": rec.files[0]["id"], "path": "/srv/site.yml"}
    assert [(r["host"]["name"], r["status"]) for r in second["results"]] == [("h1", "failed"), ("h2", "failed")]
    result = second["results"][0]
    assert set(result) >= {"status", "started", "ended", "changed", "ignore_errors", "host"}
    assert result["host"] == {"id": rec.hosts["h1"]["id"], "name": "h1"}


def _count_queries(settings: Settings, hosts: int, tasks: int) -> int:
    client = AraOfflineClient(settings=settings)
    try:
        rec = record_playbook(
            client, hosts=tuple(f"h{i}" for i in range(hosts)), tasks=tuple((f"t{i}", "ok") for i in range(tasks))
        )
        statements: list[Any] = []
        engine = client.app.state.ara.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            detailed = client.get(f"/api/v1/playbooks/{rec.playbook['id']}")
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert sum(len(t["results"]) for p in detailed["plays"] for t in p["tasks"]) == hosts * tasks
        return len(statements)
    finally:
        client.close()


def test_query_count_does_not_grow_with_the_playbook(tmp_path: Any) -> None:
    small = _count_queries(Settings(base_dir=tmp_path / "small"), hosts=1, tasks=1)
    large = _count_queries(Settings(base_dir=tmp_path / "large"), hosts=6, tasks=12)
    assert small == large
    assert large <= 12
