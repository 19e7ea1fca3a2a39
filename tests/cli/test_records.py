"""``ara playbook|play|task|host|result|record list|show|delete`` with the offline client."""

from __future__ import annotations

import csv
import io

import pytest
import yaml

from ara.clients.base import AraClient
from tests.cli.conftest import Cli
from tests.support.factories import Recorded, record_playbook


@pytest.fixture
def two(api: AraClient) -> tuple[Recorded, Recorded]:
    """A failed playbook labelled 'prod' and a completed one with changed and ignored results."""
    failed = record_playbook(api, path="/srv/site.yml", labels=("prod",), status="failed", name="deploy site")
    completed = record_playbook(
        api,
        path="/srv/other.yml",
        status="completed",
        tasks=(("a", "ok"), ("b", "changed"), ("c", "ignored")),
        hosts=("db1",),
        controller="ctl-2",
    )
    api.post("/api/v1/records", playbook=completed.playbook["id"], key="version", value="1.2.3", type="text")
    return failed, completed


def ids(rows: list[dict]) -> list[int]:
    return sorted(row["id"] for row in rows)


def test_playbook_list_filters(cli: Cli, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    assert ids(cli.json("playbook", "list")) == ids([failed.playbook, completed.playbook])
    assert ids(cli.json("playbook", "list", "--status", "failed")) == [failed.playbook["id"]]
    both = cli.json("playbook", "list", "--status", "failed", "--status", "completed")
    assert ids(both) == ids([failed.playbook, completed.playbook])
    assert ids(cli.json("playbook", "list", "--label", "prod")) == [failed.playbook["id"]]
    assert ids(cli.json("playbook", "list", "--path", "other")) == [completed.playbook["id"]]
    assert ids(cli.json("playbook", "list", "--name", "deploy")) == [failed.playbook["id"]]
    assert ids(cli.json("playbook", "list", "--controller", "ctl-2")) == [completed.playbook["id"]]
    assert ids(cli.json("playbook", "list", "--ansible_version", "2.19")) == ids([failed.playbook, completed.playbook])
    assert cli.json("playbook", "list", "--user", "nobody-at-all") == []
    newest_first = cli.json("playbook", "list", "--order", "-id", "--limit", "1")
    assert ids(newest_first) == [completed.playbook["id"]]
    assert ids(cli.json("playbook", "list", "--order", "id", "--limit", "1")) == [failed.playbook["id"]]
    assert ids(cli.json("playbook", "list", ARA_CLI_LIMIT="1")) == [completed.playbook["id"]]


def test_json_is_what_the_api_answers(cli: Cli, api: AraClient, two: tuple[Recorded, Recorded]) -> None:
    assert cli.json("playbook", "list", "--order", "id") == api.get("/api/v1/playbooks", order="id")["results"]
    pid = two[0].playbook["id"]
    assert cli.json("playbook", "show", str(pid)) == api.get(f"/api/v1/playbooks/{pid}")
    assert (
        cli.json("result", "list", "--playbook", str(pid))
        == api.get("/api/v1/results", playbook=pid, ignore_errors=False, order="-started")["results"]
    )


def test_table_output(cli: Cli, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    table = cli.ok("playbook", "list").stdout
    lines = [line for line in table.splitlines() if "/srv/" in line]
    assert len(lines) == 2
    assert any("failed" in line and "/srv/site.yml" in line and f" {failed.playbook['id']} " in line for line in lines)
    assert any("completed" in line and "/srv/other.yml" in line for line in lines)
    header = table.splitlines()[1]
    for column in ("id", "status", "controller", "ansible_version", "path", "tasks", "results", "hosts", "duration"):
        assert column in header
    long = cli.ok("playbook", "list", "--long").stdout
    assert "records" in long and "python_version" in long and "deploy site" in long
    shown = cli.ok("playbook", "show", str(failed.playbook["id"])).stdout
    assert "/srv/site.yml" in shown and "prod" in shown and f"/playbooks/{failed.playbook['id']}.html" in shown


def test_other_formats_and_columns(cli: Cli, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    values = cli.ok("playbook", "list", "-f", "value", "-c", "id", "-c", "status", "--order", "id").stdout
    assert values.splitlines() == [f"{failed.playbook['id']} failed", f"{completed.playbook['id']} completed"]
    rows = list(csv.DictReader(io.StringIO(cli.ok("playbook", "list", "-f", "csv", "--order", "id").stdout)))
    assert [row["path"] for row in rows] == ["/srv/site.yml", "/srv/other.yml"]
    assert yaml.safe_load(cli.ok("playbook", "list", "-f", "yaml").stdout)[0]["path"] == "/srv/other.yml"
    assert cli.json("playbook", "list", "-c", "id", "--status", "failed") == [{"id": failed.playbook["id"]}]
    assert "unknown column" in cli("playbook", "list", "-c", "nope").error


def test_result_list_filters(cli: Cli, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    pid = failed.playbook["id"]
    failing = cli.json("result", "list", "--status", "failed", "--playbook", str(pid))
    assert ids(failing) == ids([r for r in failed.results if r["status"] == "failed"])
    assert {r["status"] for r in failing} == {"failed"}
    # As in ARA: a failure whose error was ignored is not listed unless asked for with --ignore-errors.
    assert cli.json("result", "list", "--status", "failed", "--playbook", str(completed.playbook["id"])) == []
    ignored = cli.json("result", "list", "--ignore-errors")
    assert [r["status"] for r in ignored] == ["ignored"]
    assert [r["status"] for r in cli.json("result", "list", "--status", "ignored")] == ["ignored"]
    assert [r["status"] for r in cli.json("result", "list", "--status", "changed")] == ["changed"]
    assert [r["status"] for r in cli.json("result", "list", "--changed")] == ["changed"]
    task = completed.tasks[0]["id"]
    assert {r["task"] for r in cli.json("result", "list", "--task", str(task))} == {task}
    host = failed.hosts["web2"]["id"]
    assert {r["host"] for r in cli.json("result", "list", "--host", str(host))} == {host}
    resolved = cli.ok("result", "list", "--playbook", str(pid), "--resolve", "--long").stdout
    assert (
        "(1) /srv/site.yml" in resolved and "configure" in resolved and "web1" in resolved and "main play" in resolved
    )


def test_show_and_delete_every_resource(cli: Cli, api: AraClient, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    result = failed.results[-1]
    shown = cli.json("result", "show", str(result["id"]))
    assert shown["id"] == result["id"] and "content" not in shown
    assert cli.json("result", "show", str(result["id"]), "--with-content")["content"] == result["content"]
    table = cli.ok("result", "show", str(result["id"]), "--with-content").stdout
    assert "configure on web2" in table and "/srv/site.yml:2" in table
    host = failed.hosts["web1"]
    assert "facts" not in cli.json("host", "show", str(host["id"]))
    assert cli.json("host", "show", str(host["id"]), "--with-facts")["facts"] == {}
    play = failed.plays[0]
    assert cli.json("play", "show", str(play["id"]))["name"] == "main play"
    assert "(1) deploy site" in cli.ok("play", "show", str(play["id"])).stdout
    task = failed.tasks[1]
    assert cli.json("task", "show", str(task["id"]))["name"] == "configure"
    record = cli.json("record", "list", "--key", "version")
    assert len(record) == 1
    assert cli.json("record", "show", str(record[0]["id"]))["value"] == "1.2.3"

    for noun, obj_id in (
        ("result", result["id"]),
        ("task", task["id"]),
        ("host", host["id"]),
        ("play", play["id"]),
        ("record", record[0]["id"]),
        ("playbook", completed.playbook["id"]),
    ):
        deleted = cli.ok(noun, "delete", str(obj_id))
        assert deleted.stdout == "" and f"Deleted {noun} {obj_id}" in deleted.stderr
        assert f"{noun} {obj_id} not found" in cli(noun, "show", str(obj_id)).error
    assert ids(cli.json("playbook", "list")) == [failed.playbook["id"]]


def test_other_lists_filter(cli: Cli, two: tuple[Recorded, Recorded]) -> None:
    failed, completed = two
    fid, cid = str(failed.playbook["id"]), str(completed.playbook["id"])
    assert {h["name"] for h in cli.json("host", "list", "--playbook", cid)} == {"db1"}
    assert {h["playbook"] for h in cli.json("host", "list", "--name", "web")} == {failed.playbook["id"]}
    latest = cli.json("host", "list", "--latest")
    assert sorted(h["name"] for h in latest) == ["db1", "web1", "web2"]
    assert cli.json("host", "list", "--with-failed") == []
    assert len(cli.json("host", "list", "--without-failed")) == 3
    assert [t["name"] for t in cli.json("task", "list", "--status", "failed")] == ["configure"]
    assert {t["name"] for t in cli.json("task", "list", "--playbook", cid, "--name", "b")} == {"b"}
    assert len(cli.json("task", "list", "--action", "command")) == 5
    assert cli.json("task", "list", "--with-warnings") == []
    assert [p["playbook"] for p in cli.json("play", "list", "--playbook", fid)] == [failed.playbook["id"]]
    assert cli.json("play", "list", "--status", "running") == []
    assert [r["key"] for r in cli.json("record", "list", "--playbook", cid)] == ["version"]
    assert cli.json("record", "list", "--playbook", fid) == []
