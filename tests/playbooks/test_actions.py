"""The action kinds (exec, http, sql, ansible) and secrets: stored sealed, never returned, scrubbed from output."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from ara.db.session import make_engine
from tests.support.mission import Mission


def test_http_action(mission: Mission) -> None:
    playbook_id = mission.define(
        "call-api",
        {
            "parameters": [{"name": "base"}],
            "actions": [
                {
                    "name": "get",
                    "http": {
                        "url": "{{ params.base }}/api/v1/playbooks?limit=1",
                        "headers": {"Accept": "application/json"},
                    },
                },
                {"name": "missing", "http": {"url": "{{ params.base }}/api/v1/playbooks/424242"}},
            ],
        },
    )
    run_id = mission.run(playbook_id, params={"base": mission.url})
    assert mission.wait(run_id)["status"] == "failed"
    get, missing = mission.status(run_id)["actions"]
    assert get["status"] == "completed" and get["result"]["code"] == 200
    assert '"count"' in get["result"]["content"] and get["result"]["headers"]["content-type"] == "application/json"
    assert missing["status"] == "failed" and missing["result"]["code"] == 404 and missing["error"] == "HTTP 404"


def test_sql_action_with_a_sealed_connection(mission: Mission, tmp_path: Path) -> None:
    database = tmp_path / "inventory.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE servers (name TEXT, cores INTEGER)")
        connection.executemany("INSERT INTO servers VALUES (?, ?)", [("a", 2), ("b", 8)])
    url = f"sqlite:///{database}"
    playbook_id = mission.define(
        "query",
        {
            "actions": [
                {"name": "big", "sql": {"connection": url, "query": "SELECT name, cores FROM servers WHERE cores > 4"}}
            ]
        },
    )
    shown = mission.http.get(f"/playbook/{playbook_id}").json()
    assert shown["spec"]["actions"][0]["sql"]["connection"] == "[redacted]"
    engine = make_engine(mission.settings)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT spec FROM playbook_definitions")).scalar()
    engine.dispose()
    assert url not in str(stored) and "enc:" in str(stored)
    run_id = mission.run(playbook_id)
    assert mission.wait(run_id)["status"] == "completed"
    result = mission.status(run_id)["actions"][0]["result"]
    assert result == {"columns": ["name", "cores"], "rows": [["b", 8]], "count": 1}


def test_secret_params_are_sealed_and_scrubbed(mission: Mission, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    playbook_id = mission.define(
        "secretive",
        {
            "parameters": [{"name": "token", "type": "secret", "required": True}],
            "actions": [
                {
                    "name": "leak",
                    "exec": {
                        "script": "echo token={{ params.token }}; echo {{ params.token }} >&2; exit 1",
                        "artifacts": [{"path": "/dev/stdout"}],
                    },
                }
            ],
        },
    )
    run_id = mission.run(playbook_id, params={"token": "hunter2-very-secret"})
    assert mission.wait(run_id)["status"] == "failed"
    status = mission.http.get(f"/playbook/run/{run_id}/status").text
    assert "hunter2" not in status and "token=[redacted]" in status
    [artifact] = mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
    assert mission.http.get(f"/artifacts/download/{artifact['id']}").text == "token=[redacted]\n"
    recorded = mission.http.get("/api/v1/results", params={"status": "failed"}).json()["results"][0]
    assert "hunter2" not in mission.http.get(f"/api/v1/results/{recorded['id']}").text
    engine = make_engine(mission.settings)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT parameters FROM playbook_runs")).scalar()
    engine.dispose()
    assert "hunter2" not in str(stored)
    assert "hunter2" not in caplog.text


@pytest.mark.ansible
def test_ansible_action_is_recorded_under_the_run(mission_sqlite: Mission) -> None:
    mission = mission_sqlite
    inline = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: say hello\n      debug: {msg: hello}\n"
        "    - name: fail softly\n      command: /bin/false\n      ignore_errors: true\n"
    )
    playbook_id = mission.define(
        "ansible",
        {
            "actions": [
                {"name": "play", "ansible": {"playbook": inline}},
                {"name": "after", "exec": {"script": "true"}},
            ]
        },
    )
    run_id = mission.run(playbook_id)
    run = mission.wait(run_id, timeout=90)
    assert run["status"] == "completed", mission.status(run_id)
    records_id = run["records_playbook_id"]
    detailed = mission.http.get(f"/api/v1/playbooks/{records_id}").json()
    task_names = [t["name"] for play in detailed["plays"] for t in play["tasks"]]
    assert {"say hello", "fail softly", "play", "after"} <= set(task_names)
    ignored = [
        r for play in detailed["plays"] for t in play["tasks"] if t["name"] == "fail softly" for r in t["results"]
    ]
    assert [r["status"] for r in ignored] == ["ignored"]
    # Only the run's own recording remains: the ansible-playbook's was folded into it.
    assert mission.http.get("/api/v1/playbooks").json()["count"] == 1
