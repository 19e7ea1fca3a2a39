"""``ara playbook prune``, ``ara expire`` and the metrics commands."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from ara.clients.base import AraClient
from ara.db.session import make_engine
from ara.records import models as m
from ara.settings import Settings
from tests.cli.conftest import Cli
from tests.support.factories import record_playbook

NOW = dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def playbook_ids(api: AraClient) -> set[int]:
    return {p["id"] for p in api.get("/api/v1/playbooks")["results"]}


def test_prune_reports_without_confirm_and_deletes_only_old_playbooks_with_it(cli: Cli, api: AraClient) -> None:
    old = record_playbook(api, started=iso(NOW - dt.timedelta(days=40)), ended=None, status="failed")
    old_labelled = record_playbook(api, started=iso(NOW - dt.timedelta(days=60)), labels=("keep-me",), ended=None)
    recent = record_playbook(api, started=iso(NOW - dt.timedelta(days=2)), ended=None)
    everything = playbook_ids(api)

    dry = cli.ok("playbook", "prune", "-f", "json")
    assert {p["id"] for p in dry.json()} == {old.playbook["id"], old_labelled.playbook["id"]}
    assert "nothing deleted" in dry.stderr
    assert playbook_ids(api) == everything

    assert [p["id"] for p in cli.json("playbook", "prune", "--days", "50")] == [old_labelled.playbook["id"]]
    assert playbook_ids(api) == everything

    done = cli.ok("playbook", "prune", "--confirm", "--status", "failed", "-f", "json")
    assert [p["id"] for p in done.json()] == [old.playbook["id"]]
    assert "1 playbooks deleted" in done.stderr
    assert playbook_ids(api) == {old_labelled.playbook["id"], recent.playbook["id"]}

    cli.ok("playbook", "prune", "--days", "1", "--confirm", "--label", "keep-me")
    assert playbook_ids(api) == {recent.playbook["id"]}
    table = cli.ok("playbook", "prune", "--days", "1").stdout
    assert "/srv/site.yml" in table  # the table lists what would go


def test_expire_marks_only_old_running_objects(cli: Cli, api: AraClient, sqlite_settings: Settings) -> None:
    stale = record_playbook(api, status="running", ended=None)
    api.patch(f"/api/v1/plays/{stale.plays[0]['id']}", status="running")
    api.patch(f"/api/v1/tasks/{stale.tasks[0]['id']}", status="running")
    finished_long_ago = record_playbook(api, status="completed")
    fresh = record_playbook(api, status="running", ended=None)
    engine = make_engine(sqlite_settings)
    long_ago = NOW - dt.timedelta(hours=30)
    with engine.begin() as connection:
        for model in (m.Playbook, m.Play, m.Task):
            old_ids = {m.Playbook: [stale.playbook["id"], finished_long_ago.playbook["id"]]}.get(model)
            if old_ids is None:
                old_ids = [o["id"] for o in (stale.plays if model is m.Play else stale.tasks)]
            connection.execute(update(model).where(model.id.in_(old_ids)).values(updated=long_ago))
    engine.dispose()

    dry = cli.ok("expire", "-f", "json")
    expected = [
        {"kind": "playbook", "id": stale.playbook["id"]},
        {"kind": "play", "id": stale.plays[0]["id"]},
        {"kind": "task", "id": stale.tasks[0]["id"]},
    ]
    assert [{"kind": r["kind"], "id": r["id"]} for r in dry.json()] == expected
    assert "nothing expired" in dry.stderr
    assert api.get(f"/api/v1/playbooks/{stale.playbook['id']}")["status"] == "running"

    assert cli.json("expire", "--hours", "48") == []
    done = cli.ok("expire", "--confirm", "-f", "json")
    assert len(done.json()) == 3 and "3 objects expired" in done.stderr
    assert api.get(f"/api/v1/playbooks/{stale.playbook['id']}")["status"] == "expired"
    assert api.get(f"/api/v1/plays/{stale.plays[0]['id']}")["status"] == "expired"
    assert api.get(f"/api/v1/tasks/{stale.tasks[0]['id']}")["status"] == "expired"
    assert api.get(f"/api/v1/tasks/{stale.tasks[1]['id']}")["status"] == "failed"
    assert api.get(f"/api/v1/playbooks/{fresh.playbook['id']}")["status"] == "running"
    assert api.get(f"/api/v1/playbooks/{finished_long_ago.playbook['id']}")["status"] == "completed"


def test_playbook_metrics(cli: Cli, api: AraClient) -> None:
    record_playbook(api, path="/srv/a.yml", status="completed", name="a", ended="2024-05-01T10:01:00Z")
    record_playbook(api, path="/srv/a.yml", status="failed", name="a", hosts=("h1",), ended="2024-05-01T10:03:30Z")
    record_playbook(api, path="/srv/b.yml", status="running", name="b", tasks=(("x", "ok"),), ended=None)
    rows = {row["aggregate"]: row for row in cli.json("playbook", "metrics", "--long")}
    a, b = rows["/srv/a.yml"], rows["/srv/b.yml"]
    assert (a["count"], a["completed"], a["failed"], a["running"]) == (2, 1, 1, 0)
    assert (a["plays"], a["tasks"], a["results"], a["hosts"], a["files"]) == (2, 4, 6, 3, 2)
    assert (a["duration_total"], a["duration_avg"]) == ("0:04:30", "0:02:15")
    assert (b["count"], b["running"], b["tasks"], b["results"], b["duration_total"]) == (1, 1, 1, 2, "0:00:00")
    assert set(cli.json("playbook", "metrics", "--status", "failed")[0]) == {
        "aggregate",
        "count",
        "duration_total",
        "duration_avg",
        "tasks",
        "results",
        "hosts",
        "completed",
        "failed",
        "running",
    }
    by_name = cli.json("playbook", "metrics", "--aggregate", "name")
    assert [(row["aggregate"], row["count"]) for row in by_name] == [("a", 2), ("b", 1)]
    assert "Invalid value" in cli("playbook", "metrics", "--aggregate", "colour").error
    table = cli.ok("playbook", "metrics").stdout
    assert any("/srv/a.yml" in line and "0:04:30" in line for line in table.splitlines())

    hosts = {row["name"]: row for row in cli.json("host", "metrics")}
    assert (hosts["web1"]["count"], hosts["h1"]["count"]) == (2, 1)
    tasks = {row["aggregate"]: row for row in cli.json("task", "metrics", "--long")}
    assert tasks["command"]["count"] == 5 and tasks["command"]["results"] == 8
    assert tasks["command"]["failed"] == 2 and tasks["command"]["completed"] == 3
