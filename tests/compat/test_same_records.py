"""Our callback records the same plays, tasks, results (with statuses) and hosts as ARA 1.8's own callback.

Each integration playbook ran twice into one server (``world`` in conftest): once with upstream's plugins in
its virtualenv, once with ours. Both recordings are read back through our API and normalized (no ids,
uuids, times or durations) into trees that must be equal.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import PLAYBOOK_NAMES, World

pytestmark = [pytest.mark.compat, pytest.mark.ansible]


def normalized(world: World, playbook_id: int) -> dict[str, Any]:
    """What a recording says ran: playbook, plays → tasks → results, hosts with stats, records, files."""
    playbook = world.detail("playbooks", playbook_id)
    hosts = {host["id"]: host for host in world.all("hosts", playbook=playbook_id)}
    files = {file["id"]: file["path"] for file in world.all("files", playbook=playbook_id)}
    results_by_task: dict[int, list[tuple[Any, ...]]] = {}
    for result in world.all("results", playbook=playbook_id):
        delegated = sorted(hosts[host_id]["name"] for host_id in result["delegated_to"])
        row = (hosts[result["host"]]["name"], result["status"], result["changed"], result["ignore_errors"], delegated)
        results_by_task.setdefault(result["task"], []).append(row)
    tasks_by_play: dict[int, list[dict[str, Any]]] = {}
    for task in world.all("tasks", playbook=playbook_id):
        tasks_by_play.setdefault(task["play"], []).append(
            {
                "name": task["name"],
                "action": task["action"],
                "handler": task["handler"],
                "status": task["status"],
                "file": files[task["file"]],
                "lineno": task["lineno"],
                "tags": sorted(task["tags"]),
                "results": sorted(results_by_task.pop(task["id"], []), key=repr),
            }
        )
    assert results_by_task == {}, "results of no task"
    plays = [
        {"name": play["name"], "status": play["status"], "tasks": tasks_by_play.pop(play["id"], [])}
        for play in world.all("plays", playbook=playbook_id)
    ]
    assert tasks_by_play == {}, "tasks of no play"
    stats = ("ok", "changed", "failed", "skipped", "unreachable")
    records = {}
    for listed in world.all("records", playbook=playbook_id):
        record = world.detail("records", listed["id"])
        records[record["key"]] = (record["type"], record["value"])
    return {
        "playbook": {
            "name": playbook["name"],
            "path": playbook["path"],
            "status": playbook["status"],
            "items": playbook["items"],
            "labels": sorted(label["name"] for label in playbook["labels"]),
        },
        "plays": plays,
        "hosts": sorted((host["name"], *(host[stat] for stat in stats)) for host in hosts.values()),
        "records": records,
        "files": sorted(files.values()),
    }


@pytest.mark.parametrize("playbook", PLAYBOOK_NAMES)
def test_same_records_as_upstream(world: World, playbook: str) -> None:
    upstream_run, upstream_id = world.upstream[playbook]
    ours_run, ours_id = world.ours[playbook]
    assert upstream_run.returncode == ours_run.returncode, (upstream_run.output, ours_run.output)
    assert upstream_id != ours_id
    assert normalized(world, ours_id) == normalized(world, upstream_id)


def test_same_host_facts_as_upstream(world: World) -> None:
    """Facts saved on hosts (gathered by ``gather_facts`` and ``setup``), ignoring their volatile values."""

    def facts(playbook_id: int) -> dict[str, list[str]]:
        return {
            host["name"]: sorted(world.detail("hosts", host["id"])["facts"])
            for host in world.all("hosts", playbook=playbook_id)
        }

    ours = facts(world.ours["lifecycle.yml"][1])
    theirs = facts(world.upstream["lifecycle.yml"][1])
    assert ours == theirs
    assert len(ours["localhost"]) > 20
