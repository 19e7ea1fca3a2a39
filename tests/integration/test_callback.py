"""The ``ara_default`` callback and the action/lookup plugins, under a real ``ansible-playbook``.

Each playbook of ``tests/integration/playbooks`` runs once per client (offline on SQLite, http on SQLite, and
the main one over http on PostgreSQL); the tests then read what was recorded through the API.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest

from ara.clients.base import AraClient
from ara.clients.http import AraHttpClient
from ara.clients.offline import AraOfflineClient
from ara.settings import Settings
from tests.support.ansible import PLAYBOOKS, Run, ansible_env, run_playbook
from tests.support.databases import fresh_postgres_database
from tests.support.server import running_server

pytestmark = pytest.mark.ansible

IGNORED_FACT = "Not saved by ARA as configured by 'ignored_facts'"
LONG_HOST = "long-host-" + "h" * 290
LONG_LABEL = "long-label-" + "l" * 290
LONG_PLAY = "Over-long play name " + "p" * 290
LONG_TASK = "Over-long task name " + "t" * 290


@dataclass
class Recorded:
    """The runs of a set of playbooks and a client reading the database they were recorded in."""

    client: AraClient
    runs: dict[str, Run]
    cache: dict[str, Any] = field(default_factory=dict)

    def playbook(self, name: str) -> dict[str, Any]:
        if name not in self.cache:
            found = self.client.get("/api/v1/playbooks", path=f"/{name}")["results"]
            assert len(found) == 1, found
            self.cache[name] = self.client.get(f"/api/v1/playbooks/{found[0]['id']}")
        return self.cache[name]  # type: ignore[no-any-return]

    def all(self, resource: str, playbook: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
        page = self.client.get(f"/api/v1/{resource}", playbook=playbook["id"], limit=1000, order="id", **params)
        assert page["count"] == len(page["results"])
        return page["results"]  # type: ignore[no-any-return]


VARIANTS = [
    pytest.param(("offline", "sqlite"), id="offline-sqlite"),
    pytest.param(("http", "sqlite"), id="http-sqlite"),
    pytest.param(("http", "postgres"), id="http-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module", params=VARIANTS)
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    """lifecycle.yml everywhere; records.yml and failures.yml too on SQLite (the database is not their subject)."""
    client_kind, database = request.param
    tmp = tmp_path_factory.mktemp(f"{client_kind}-{database}")
    with ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database()) if database == "postgres" else ""
        settings = Settings(base_dir=tmp, database={"url": url})
        if client_kind == "offline":
            env = ansible_env(tmp, settings=settings)
            client: AraClient = AraOfflineClient(settings=settings)
        else:
            server = stack.enter_context(running_server(settings))
            env = ansible_env(tmp, client="http", server=server)
            client = AraHttpClient(endpoint=server)
        stack.callback(client.close)
        playbooks = ["lifecycle.yml"] if database == "postgres" else ["lifecycle.yml", "records.yml", "failures.yml"]
        yield Recorded(client, {name: run_playbook(name, env) for name in playbooks})


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in items}


def assert_clean(run: Run) -> None:
    """No warning about ara and no callback error in Ansible's output."""
    assert run.ara_warnings() == [], run.output
    assert "callback plugin" not in run.output, run.output
    assert "Traceback" not in run.output, run.output


# -- lifecycle.yml ------------------------------------------------------------------------------------------------
def test_lifecycle_playbook(recorded: Recorded) -> None:
    run = recorded.runs["lifecycle.yml"]
    assert run.returncode == 0, run.output
    assert_clean(run)
    playbook = recorded.playbook("lifecycle.yml")
    assert playbook["status"] == "completed"
    assert playbook["ended"] is not None and playbook["duration"] is not None
    assert playbook["name"] == "Ara lifecycle — é 日本 🚀"
    assert playbook["path"] == str(PLAYBOOKS / "lifecycle.yml")
    assert playbook["ansible_version"].startswith("2.")
    assert playbook["user"] and playbook["controller"]
    assert playbook["arguments"]["extra_vars"] == "Not saved by ARA as configured by 'ignored_arguments'"
    labels = {label["name"] for label in playbook["labels"]}
    assert {"lifecycle", "label-é-日本-🚀", LONG_LABEL[:254], "check:False", "tags:all"} <= labels
    assert playbook["items"] == {"plays": 3, "tasks": 18, "results": 36, "hosts": 4, "files": 2, "records": 0}


def test_lifecycle_plays(recorded: Recorded) -> None:
    plays = recorded.all("plays", recorded.playbook("lifecycle.yml"))
    names = [play["name"] for play in plays]
    assert names == ["Facts and handlers on localhost — é 日本 🚀", LONG_PLAY[:254], "日本語のプレイ 🐍"]
    assert {play["status"] for play in plays} == {"completed"}
    assert all(len(play["uuid"]) == 36 and play["ended"] for play in plays)


def test_lifecycle_tasks(recorded: Recorded) -> None:
    playbook = recorded.playbook("lifecycle.yml")
    tasks = by_name(recorded.all("tasks", playbook))
    assert tasks["Gathering Facts"]["action"] in ("gather_facts", "ansible.builtin.gather_facts")
    assert tasks["Handler é 日本"]["handler"] is True
    assert [name for name, task in tasks.items() if task["handler"]] == ["Handler é 日本"]
    assert tasks[LONG_TASK]["status"] == "completed"  # task names are text: kept whole, as ARA does
    assert tasks["Fail inside the block"]["status"] == "failed"  # rescued, but a host failed it
    assert tasks["Fail but ignore errors"]["status"] == "completed"
    assert tasks["タスク — non-ASCII task name"]["action"] == "debug"
    failed = sorted(name for name, task in tasks.items() if task["status"] != "completed")
    assert failed == ["Fail inside the block"]
    assert all(task["ended"] for task in tasks.values())
    # file and line of each task
    files = {file["id"]: file["path"] for file in recorded.all("files", playbook)}
    assert files[tasks["Included task — é"]["file"]] == str(PLAYBOOKS / "tasks" / "included.yml")
    assert files[tasks["Loop with loop"]["file"]] == str(PLAYBOOKS / "lifecycle.yml")
    assert tasks["Loop with loop"]["lineno"] > 1
    assert tasks["Loop with loop"]["tags"] == []


def results_of(recorded: Recorded) -> dict[tuple[str, str], dict[str, Any]]:
    playbook = recorded.playbook("lifecycle.yml")
    tasks = {task["id"]: task["name"] for task in recorded.all("tasks", playbook)}
    hosts = {host["id"]: host["name"] for host in recorded.all("hosts", playbook)}
    results = {}
    for result in recorded.all("results", playbook):
        key = (tasks[result["task"]], hosts[result["host"]])
        assert key not in results
        results[key] = {**result, "delegated_names": [hosts[h] for h in result["delegated_to"]]}
    return results


def test_lifecycle_results(recorded: Recorded) -> None:
    results = results_of(recorded)
    locals_ = ["web-é", "db-日本", LONG_HOST[:254]]
    statuses = collections.Counter(result["status"] for result in results.values())
    assert statuses == {"ok": 24, "skipped": 7, "ignored": 3, "failed": 1, "changed": 1}
    assert results[("Change something and notify — é", "localhost")]["status"] == "changed"
    assert results[("Change something and notify — é", "localhost")]["changed"] is True
    assert results[("Handler é 日本", "localhost")]["status"] == "ok"
    for host in locals_:
        ignored = results[("Fail but ignore errors", host)]
        assert (ignored["status"], ignored["ignore_errors"]) == ("ignored", True)
        assert results[("Skipped task", host)]["status"] == "skipped"
        assert results[("Always run", host)]["status"] == "ok"
        loop = results[("Loop with loop", host)]
        assert [item["msg"] for item in loop_content(recorded, loop)["results"]] == ["item 1", "item 2", "item 3"]
        assert results[("Delegate to localhost", host)]["delegated_names"] == ["localhost"]
    assert results[("Fail inside the block", "web-é")]["status"] == "failed"
    assert results[("Fail inside the block", "db-日本")]["status"] == "skipped"
    assert [host for task, host in results if task == "Rescue the failure"] == ["web-é"]
    assert sorted(results[("Delegate in a loop", "web-é")]["delegated_names"]) == sorted(["web-é", "db-日本"])
    assert results[("Delegate in a loop", "db-日本")]["status"] == "skipped"
    assert results[("Delegate in a loop", "db-日本")]["delegated_names"] == []
    assert results[("Included task — é", "db-日本")]["status"] == "ok"
    for result in results.values():
        assert result["started"] <= result["ended"]


def loop_content(recorded: Recorded, result: dict[str, Any]) -> dict[str, Any]:
    return recorded.client.get(f"/api/v1/results/{result['id']}")["content"]  # type: ignore[no-any-return]


def test_lifecycle_hosts_and_facts(recorded: Recorded) -> None:
    playbook = recorded.playbook("lifecycle.yml")
    hosts = by_name(recorded.all("hosts", playbook))
    assert sorted(hosts) == sorted(["localhost", "web-é", "db-日本", LONG_HOST[:254]])
    fields = ("ok", "changed", "failed", "skipped", "unreachable")
    counters = {name: tuple(host[c] for c in fields) for name, host in hosts.items()}
    assert counters["localhost"] == (4, 1, 0, 0, 0)
    assert counters["web-é"] == (8, 1, 0, 1, 0)  # the rescued failure is not a failure in Ansible's stats
    assert counters["db-日本"] == (10, 1, 0, 3, 0)
    localhost = recorded.client.get(f"/api/v1/hosts/{hosts['localhost']['id']}")
    assert localhost["facts"]["ansible_env"] == IGNORED_FACT  # ignored_facts' default
    assert localhost["facts"]["ansible_system"] == "Linux"
    db = recorded.client.get(f"/api/v1/hosts/{hosts['db-日本']['id']}")
    assert db["facts"]["ansible_system"] == "Linux" and db["facts"]["ansible_env"] == IGNORED_FACT
    web = recorded.client.get(f"/api/v1/hosts/{hosts['web-é']['id']}")
    assert web["facts"] == {}
    gathered = results_of(recorded)[("Gathering Facts", "localhost")]
    assert loop_content(recorded, gathered)["ansible_facts"]["ansible_env"] == IGNORED_FACT


def test_lifecycle_files(recorded: Recorded) -> None:
    playbook = recorded.playbook("lifecycle.yml")
    files = {file["path"]: file for file in recorded.all("files", playbook)}
    for path in (PLAYBOOKS / "lifecycle.yml", PLAYBOOKS / "tasks" / "included.yml"):
        detail = recorded.client.get(f"/api/v1/files/{files[str(path)]['id']}")
        assert detail["content"] == path.read_text(encoding="utf-8")


# -- records.yml --------------------------------------------------------------------------------------------------
def on_sqlite(recorded: Recorded, name: str) -> Run:
    if name not in recorded.runs:
        pytest.skip("runs on SQLite only")
    return recorded.runs[name]


def test_records_of_every_type(recorded: Recorded) -> None:
    run = on_sqlite(recorded, "records.yml")
    assert run.returncode == 0, run.output  # the playbook asserts what ara_record, ara_playbook and ara_api returned
    assert_clean(run)
    playbook = recorded.playbook("records.yml")
    assert playbook["status"] == "completed"
    records = {}
    for listed in recorded.all("records", playbook):
        record = recorded.client.get(f"/api/v1/records/{listed['id']}")
        records[record["key"]] = (record["type"], record["value"])
    assert records == {
        "log": ("text", "error fixed"),
        "website": ("url", "http://domain.tld"),
        "data": ("json", "{ 'key': 'value' }"),
        "somelist": ("list", ["one", "two"]),
        "somedict": ("dict", {"key": "value", "ключ": "値"}),
    }
    tasks = by_name(recorded.all("tasks", playbook))
    assert tasks["Record every type"]["action"] == "ara_record"
    labels = {label["name"] for label in playbook["labels"]}
    assert "from-ara-label" in labels and "to-remove" not in labels


# -- failures.yml -------------------------------------------------------------------------------------------------
def test_unreachable_and_failed(recorded: Recorded) -> None:
    run = on_sqlite(recorded, "failures.yml")
    assert run.returncode in (2, 4), run.output
    assert_clean(run)
    playbook = recorded.playbook("failures.yml")
    assert playbook["status"] == "failed"
    tasks = by_name(recorded.all("tasks", playbook))
    assert {name: task["status"] for name, task in tasks.items()} == {
        "Ping everyone": "failed",
        "Still running after the unreachable host": "completed",
        "Fail on localhost": "failed",
    }
    hosts = by_name(recorded.all("hosts", playbook))
    assert hosts["dead-host"]["unreachable"] == 1 and hosts["localhost"]["failed"] == 1
    statuses = {
        (tasks_name, host_name): result["status"]
        for result in recorded.all("results", playbook)
        for tasks_name in [next(n for n, t in tasks.items() if t["id"] == result["task"])]
        for host_name in [next(n for n, h in hosts.items() if h["id"] == result["host"])]
    }
    assert statuses == {
        ("Ping everyone", "localhost"): "ok",
        ("Ping everyone", "dead-host"): "unreachable",
        ("Still running after the unreachable host", "localhost"): "ok",
        ("Fail on localhost", "localhost"): "failed",
    }
    failed = recorded.client.get("/api/v1/results", playbook=playbook["id"], status="failed")
    assert failed["count"] == 1
