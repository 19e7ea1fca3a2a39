"""The nested playbook renders each result's fields from raw column text (its fast path); they must read
exactly as the results endpoint renders the same rows."""

from __future__ import annotations

from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.factories import record_playbook

NESTED_KEYS = ("id", "status", "started", "ended", "duration", "changed", "ignore_errors")


def test_nested_results_read_as_the_results_endpoint(settings: Settings) -> None:
    client = AraOfflineClient(settings=settings)
    try:
        rec = record_playbook(client, tasks=(("a", "ok"), ("b", "changed"), ("c", "ignored"), ("d", "skipped")))
        pid, task, host = rec.playbook["id"], rec.tasks[0]["id"], rec.hosts["web1"]["id"]
        base = {"playbook": pid, "play": rec.plays[0]["id"], "task": task, "host": host, "status": "ok"}
        client.post("/api/v1/results", **base, started="2024-05-01T10:00:00.000123Z", ended=None)
        client.post("/api/v1/results", **base, started="2024-05-01T23:59:59.999999+02:00", ended="2024-05-03T00:00Z")
        client.post("/api/v1/results", **base, started="1999-12-31T23:59:59.5Z", ended="2000-01-01T00:00:00.5Z")

        listed = {r["id"]: r for r in client.get("/api/v1/results", playbook=pid, limit=100)["results"]}
        nested = [
            r for play in client.get(f"/api/v1/playbooks/{pid}")["plays"] for t in play["tasks"] for r in t["results"]
        ]
        assert len(nested) == len(listed) == len(rec.results) + 3
        for result in nested:
            assert {key: result[key] for key in NESTED_KEYS} == {key: listed[result["id"]][key] for key in NESTED_KEYS}
            assert result["host"]["id"] == listed[result["id"]]["host"]
        assert {r["status"] for r in nested} == {"ok", "changed", "ignored", "skipped"}
        assert any(r["ended"] is None for r in nested) and any(r["duration"] and " " in r["duration"] for r in nested)
    finally:
        client.close()
