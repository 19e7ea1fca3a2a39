"""Upstream ARA 1.8's ``ara`` CLI (cliff, from the client-only ``ara==1.8.0``) reads our server over http.

Upstream takes ``--client http --server URL`` after the command (``ara playbook list --client http --server
URL``), or ``ARA_API_CLIENT``/``ARA_API_SERVER`` from the environment; both forms are used here. Rows are
read with ``-f json`` and ``-f value`` and compared with what our API answers.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.compat.conftest import World, scrubbed_environ
from tests.support.upstream import UpstreamVenv

pytestmark = [pytest.mark.compat, pytest.mark.ansible]

# cliff's note on stderr when a show command renders a table (not an error).
CLIFF_NOTE = "Rendering using default table formatter"


def ara(upstream: UpstreamVenv, world: World, *args: str, env: dict[str, str] | None = None) -> str:
    """Runs upstream's ``ara`` with ``args`` against the world's server; asserts exit 0 and a clean stderr."""
    command = [str(upstream.bin("ara")), *args]
    if env is None:
        command += ["--client", "http", "--server", world.server]
    environ = upstream.environ(scrubbed_environ(), **(env or {}))
    done = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=60, cwd=upstream.path)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    stderr = [line for line in done.stderr.splitlines() if line.strip() and CLIFF_NOTE not in line]
    assert stderr == [], done.stderr
    return done.stdout


def ara_json(upstream: UpstreamVenv, world: World, *args: str) -> Any:
    return json.loads(ara(upstream, world, *args, "-f", "json"))


def test_playbook_list(upstream: UpstreamVenv, world: World) -> None:
    listed = ara_json(upstream, world, "playbook", "list")
    api = world.client.get("/api/v1/playbooks", order="-started")["results"]
    assert [(row["id"], row["status"]) for row in listed] == [(p["id"], p["status"]) for p in api]
    assert len(listed) == 6
    by_id = {row["id"]: row for row in listed}
    lifecycle = by_id[world.upstream["lifecycle.yml"][1]]
    assert (lifecycle["tasks"], lifecycle["results"], lifecycle["hosts"]) == (18, 36, 4)


def test_playbook_list_failed_from_the_environment(upstream: UpstreamVenv, world: World) -> None:
    env = {"ARA_API_CLIENT": "http", "ARA_API_SERVER": world.server}
    output = ara(upstream, world, "playbook", "list", "--status", "failed", "-f", "value", "-c", "id", env=env)
    ids = sorted(int(line) for line in output.split())
    assert ids == sorted([world.upstream["failures.yml"][1], world.ours["failures.yml"][1]])


def test_result_list_failed(upstream: UpstreamVenv, world: World) -> None:
    listed = ara_json(upstream, world, "result", "list", "--status", "failed")
    # the CLI asks for ignore_errors=false: ignored failures are not listed
    api = world.client.get("/api/v1/results", status="failed", ignore_errors="false", order="-started")
    assert [row["id"] for row in listed] == [result["id"] for result in api["results"]]
    assert len(listed) == 4  # lifecycle's failure in the block and failures.yml's, once per callback
    assert {row["status"] for row in listed} == {"failed"}


def test_result_list_failed_resolved(upstream: UpstreamVenv, world: World) -> None:
    playbook_id = world.upstream["failures.yml"][1]
    listed = ara_json(
        upstream, world, "result", "list", "--status", "failed", "--playbook", str(playbook_id), "--long", "--resolve"
    )
    assert len(listed) == 1
    row = listed[0]
    assert row["task"].endswith(") Fail on localhost") and row["host"].endswith(") localhost")
    assert row["play"].endswith(") Unreachable and failed")
    assert (row["changed"], row["ignore_errors"]) == (True, False)


def test_playbook_show(upstream: UpstreamVenv, world: World) -> None:
    playbook_id = world.upstream["records.yml"][1]
    shown = ara_json(upstream, world, "playbook", "show", str(playbook_id))
    api = world.detail("playbooks", playbook_id)
    assert shown["id"] == playbook_id
    assert (shown["status"], shown["path"], shown["items"]) == (api["status"], api["path"], api["items"])
    assert shown["client_version"] == "1.8.0"
    assert shown["report"] == f"{world.server}/playbooks/{playbook_id}.html"


def test_play_task_host_record_lists(upstream: UpstreamVenv, world: World) -> None:
    playbook_id = str(world.upstream["lifecycle.yml"][1])
    plays = ara_json(upstream, world, "play", "list", "--playbook", playbook_id)
    assert [play["name"] for play in plays][::-1] == [play["name"] for play in world.all("plays", playbook=playbook_id)]
    tasks = ara_json(upstream, world, "task", "list", "--playbook", playbook_id, "--limit", "100")
    api_tasks = world.all("tasks", playbook=playbook_id)
    assert sorted((t["id"], t["name"], t["action"], t["status"]) for t in tasks) == sorted(
        (t["id"], t["name"], t["action"], t["status"]) for t in api_tasks
    )
    hosts = ara_json(upstream, world, "host", "list", "--playbook", playbook_id)
    assert sorted(host["name"] for host in hosts) == sorted(
        host["name"] for host in world.all("hosts", playbook=playbook_id)
    )
    records_id = str(world.upstream["records.yml"][1])
    records = ara_json(upstream, world, "record", "list", "--playbook", records_id)
    assert sorted((r["key"], r["type"]) for r in records) == [
        ("data", "json"),
        ("log", "text"),
        ("somedict", "dict"),
        ("somelist", "list"),
        ("website", "url"),
    ]


def test_show_commands(upstream: UpstreamVenv, world: World) -> None:
    records_id = world.upstream["records.yml"][1]
    log = next(r for r in world.all("records", playbook=records_id) if r["key"] == "log")
    assert ara_json(upstream, world, "record", "show", str(log["id"]))["value"] == "error fixed"
    lifecycle_id = world.upstream["lifecycle.yml"][1]
    localhost = next(h for h in world.all("hosts", playbook=lifecycle_id) if h["name"] == "localhost")
    host = ara_json(upstream, world, "host", "show", str(localhost["id"]), "--with-facts")
    assert host["name"] == "localhost" and host["facts"]["ansible_system"] == "Linux"
    task = next(t for t in world.all("tasks", playbook=lifecycle_id) if t["name"] == "Loop with loop")
    shown = ara_json(upstream, world, "task", "show", str(task["id"]))
    assert (shown["name"], shown["action"], shown["status"]) == ("Loop with loop", "debug", "completed")
    result = world.all("results", task=task["id"])[0]
    content = ara_json(upstream, world, "result", "show", str(result["id"]), "--with-content")
    assert [item["msg"] for item in content["content"]["results"]] == ["item 1", "item 2", "item 3"]
    play = ara_json(upstream, world, "play", "show", str(task["play"]))
    assert play["name"].startswith("Over-long play name ppp")


def test_metrics(upstream: UpstreamVenv, world: World) -> None:
    playbooks = ara_json(upstream, world, "playbook", "metrics")
    assert sum(row["count"] for row in playbooks) == 6
    assert {row["failed"] for row in playbooks if row["aggregate"].endswith("failures.yml")} == {2}
    tasks = {row["aggregate"]: row for row in ara_json(upstream, world, "task", "metrics")}
    assert tasks["ara_record"]["count"] == 6  # three ara_record tasks per run of records.yml
    hosts = {row["name"]: row for row in ara_json(upstream, world, "host", "metrics")}
    assert hosts["dead-host"]["unreachable"] == 2
