"""Upstream ARA 1.8's callback, action and lookup plugins (unchanged, from PyPI) record into our server over http.

The integration playbooks ran with the virtualenv's ``ansible-playbook`` (``world`` in conftest); these tests
read back what our API says upstream's plugins recorded, and check that nothing went wrong on the wire.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import PLAYBOOK_NAMES, World
from tests.support.ansible import PLAYBOOKS, Run

pytestmark = [pytest.mark.compat, pytest.mark.ansible]

IGNORED_FACT = "Not saved by ARA as configured by 'ignored_facts'"
# Upstream's callback cuts names of 255 characters or more to 254 before sending them.
LONG_HOST = ("long-host-" + "h" * 290)[:254]
LONG_LABEL = ("long-label-" + "l" * 290)[:254]
LONG_PLAY = ("Over-long play name " + "p" * 290)[:254]
LONG_TASK = "Over-long task name " + "t" * 290
# Upstream's http client logs '<status> | Failed to <method> on <url>' for any answer >= 400 and carries on.
CLIENT_ERROR = re.compile(r"\d{3} \| Failed to|Traceback|callback plugin|Failure using method")
EXPECTED_WARNINGS = re.compile(r"^Truncating (label name|play name|hostname) before recording")


def assert_clean(run: Run) -> None:
    """No client error, traceback or callback failure; upstream's stderr only has its truncation warnings."""
    assert not CLIENT_ERROR.search(run.output), run.output
    unexpected = [line for line in run.stderr.splitlines() if line.strip() and not EXPECTED_WARNINGS.match(line)]
    assert unexpected == [], run.stderr


def recorded(world: World, playbook: str) -> dict[str, Any]:
    return world.detail("playbooks", world.upstream[playbook][1])


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def test_no_error_on_the_wire(world: World) -> None:
    """Every request of upstream's plugins (and ours) was answered below 400."""
    for name in PLAYBOOK_NAMES:
        assert_clean(world.upstream[name][0])
    assert world.errors.errors == []


def test_client_version_is_upstream(world: World) -> None:
    playbook = recorded(world, "lifecycle.yml")
    assert playbook["client_version"] == "1.8.0"
    assert playbook["server_version"] != "1.8.0"


# -- lifecycle.yml ------------------------------------------------------------------------------------------------
def test_lifecycle_playbook(world: World) -> None:
    run, playbook_id = world.upstream["lifecycle.yml"]
    assert run.returncode == 0, run.output
    playbook = world.detail("playbooks", playbook_id)
    assert playbook["status"] == "completed"
    assert playbook["name"] == "Ara lifecycle — é 日本 🚀"
    assert playbook["path"] == str(PLAYBOOKS / "lifecycle.yml")
    assert playbook["ended"] and playbook["duration"]
    assert playbook["arguments"]["extra_vars"] == "Not saved by ARA as configured by 'ignored_arguments'"
    labels = {label["name"] for label in playbook["labels"]}
    assert labels == {"lifecycle", "label-é-日本-🚀", LONG_LABEL, "check:False", "tags:all"}
    assert playbook["items"] == {"plays": 3, "tasks": 18, "results": 36, "hosts": 4, "files": 2, "records": 0}
    # the nested detail (ARA 1.4's shape) holds the same tree
    nested = [
        (task["id"], result["id"]) for play in playbook["plays"] for task in play["tasks"] for result in task["results"]
    ]
    flat = [(result["task"], result["id"]) for result in world.all("results", playbook=playbook_id)]
    assert [len(play["tasks"]) for play in playbook["plays"]] == [4, 10, 4]
    assert sorted(nested) == sorted(flat) and len(flat) == 36


def test_lifecycle_plays_and_tasks(world: World) -> None:
    playbook_id = world.upstream["lifecycle.yml"][1]
    plays = world.all("plays", playbook=playbook_id)
    assert [play["name"] for play in plays] == [
        "Facts and handlers on localhost — é 日本 🚀",
        LONG_PLAY,
        "日本語のプレイ 🐍",
    ]
    assert {play["status"] for play in plays} == {"completed"}
    tasks = by_name(world.all("tasks", playbook=playbook_id))
    assert [name for name, task in tasks.items() if task["handler"]] == ["Handler é 日本"]
    assert tasks[LONG_TASK]["status"] == "completed"
    assert sorted(name for name, task in tasks.items() if task["status"] != "completed") == ["Fail inside the block"]
    assert tasks["タスク — non-ASCII task name"]["action"] == "debug"
    files = {file["id"]: file["path"] for file in world.all("files", playbook=playbook_id)}
    assert files[tasks["Included task — é"]["file"]] == str(PLAYBOOKS / "tasks" / "included.yml")
    for file_id, path in files.items():
        assert world.detail("files", file_id)["content"] == Path(path).read_text(encoding="utf-8")


def lifecycle_results(world: World) -> dict[tuple[str, str], dict[str, Any]]:
    playbook_id = world.upstream["lifecycle.yml"][1]
    tasks = {task["id"]: task["name"] for task in world.all("tasks", playbook=playbook_id)}
    hosts = {host["id"]: host["name"] for host in world.all("hosts", playbook=playbook_id)}
    results = {}
    for result in world.all("results", playbook=playbook_id):
        delegated = sorted(hosts[host_id] for host_id in result["delegated_to"])
        results[(tasks[result["task"]], hosts[result["host"]])] = {**result, "delegated_names": delegated}
    return results


def test_lifecycle_results(world: World) -> None:
    results = lifecycle_results(world)
    assert len(results) == 36
    statuses = collections.Counter(result["status"] for result in results.values())
    assert statuses == {"ok": 24, "skipped": 7, "ignored": 3, "failed": 1, "changed": 1}
    notify = results[("Change something and notify — é", "localhost")]
    assert (notify["status"], notify["changed"]) == ("changed", True)
    for host in ("web-é", "db-日本", LONG_HOST):
        ignored = results[("Fail but ignore errors", host)]
        assert (ignored["status"], ignored["ignore_errors"]) == ("ignored", True)
        assert results[("Skipped task", host)]["status"] == "skipped"
        assert results[("Delegate to localhost", host)]["delegated_names"] == ["localhost"]
    assert results[("Fail inside the block", "web-é")]["status"] == "failed"
    assert results[("Delegate in a loop", "web-é")]["delegated_names"] == sorted(["web-é", "db-日本"])
    # as in ARA, the filter is on the stored status: ignored failures are failed results with ignore_errors
    playbook_id = world.upstream["lifecycle.yml"][1]
    assert world.client.get("/api/v1/results", playbook=playbook_id, status="failed")["count"] == 4
    failed = world.client.get("/api/v1/results", playbook=playbook_id, status="failed", ignore_errors="false")
    assert failed["count"] == 1


def test_lifecycle_hosts_and_facts(world: World) -> None:
    playbook_id = world.upstream["lifecycle.yml"][1]
    hosts = by_name(world.all("hosts", playbook=playbook_id))
    assert sorted(hosts) == sorted(["localhost", "web-é", "db-日本", LONG_HOST])
    stats = ("ok", "changed", "failed", "skipped", "unreachable")
    assert {name: tuple(host[s] for s in stats) for name, host in hosts.items()} == {
        "localhost": (4, 1, 0, 0, 0),
        "web-é": (8, 1, 0, 1, 0),
        "db-日本": (10, 1, 0, 3, 0),
        LONG_HOST: (6, 1, 0, 3, 0),
    }
    localhost = world.detail("hosts", hosts["localhost"]["id"])
    assert localhost["facts"]["ansible_system"] == "Linux"
    assert localhost["facts"]["ansible_env"] == IGNORED_FACT
    assert world.detail("hosts", hosts["web-é"]["id"])["facts"] == {}
    latest = world.client.get("/api/v1/latesthosts", name="localhost")
    assert latest["count"] == 1


# -- records.yml --------------------------------------------------------------------------------------------------
def test_records_of_every_type(world: World) -> None:
    run, playbook_id = world.upstream["records.yml"]
    # the playbook itself asserts what upstream's ara_record, ara_playbook, ara_label and ara_api returned
    assert run.returncode == 0, run.output
    records = {}
    for listed in world.all("records", playbook=playbook_id):
        record = world.detail("records", listed["id"])
        records[record["key"]] = (record["type"], record["value"])
    assert records == {
        "log": ("text", "error fixed"),
        "website": ("url", "http://domain.tld"),
        "data": ("json", "{ 'key': 'value' }"),
        "somelist": ("list", ["one", "two"]),
        "somedict": ("dict", {"key": "value", "ключ": "値"}),
    }
    labels = {label["name"] for label in world.detail("playbooks", playbook_id)["labels"]}
    assert "from-ara-label" in labels and "to-remove" not in labels


# -- failures.yml -------------------------------------------------------------------------------------------------
def test_unreachable_and_failed(world: World) -> None:
    run, playbook_id = world.upstream["failures.yml"]
    assert run.returncode in (2, 4), run.output
    assert world.detail("playbooks", playbook_id)["status"] == "failed"
    tasks = {task["id"]: task for task in world.all("tasks", playbook=playbook_id)}
    hosts = {host["id"]: host for host in world.all("hosts", playbook=playbook_id)}
    statuses = {
        (tasks[result["task"]]["name"], hosts[result["host"]]["name"]): result["status"]
        for result in world.all("results", playbook=playbook_id)
    }
    assert statuses == {
        ("Ping everyone", "localhost"): "ok",
        ("Ping everyone", "dead-host"): "unreachable",
        ("Still running after the unreachable host", "localhost"): "ok",
        ("Fail on localhost", "localhost"): "failed",
    }
    assert {task["name"]: task["status"] for task in tasks.values()} == {
        "Ping everyone": "failed",
        "Still running after the unreachable host": "completed",
        "Fail on localhost": "failed",
    }
    dead = next(host for host in hosts.values() if host["name"] == "dead-host")
    assert (dead["unreachable"], dead["ok"]) == (1, 0)
    assert world.client.get("/api/v1/playbooks", status="failed", path="failures.yml")["count"] == 2  # both callbacks
