"""The ``records`` tool reads recorded playbooks, failed results with their task and host, files and host facts,
as its user (who must be active), and caps what it returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ara.clients.offline import AraOfflineClient
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sandbox.select import choose_sandbox
from ara.runtime.tools.base import ToolContext, execute
from ara.runtime.tools.records import ANSWER_CHARS, FACTS_CHARS, FILE_CHARS, RECORDS
from ara.runtime.workspace import Workspace
from ara.users.service import create_user, update_user
from tests.conftest import make_settings
from tests.support.factories import Recorded, record_playbook


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ToolContext, Recorded, AraOfflineClient]]:
    """One database for the module: each test adds what it needs beside what the others recorded."""
    sqlite_settings = make_settings(tmp_path_factory.mktemp("records-tool"))
    client = AraOfflineClient(settings=sqlite_settings)
    rec = record_playbook(client, path="/srv/site.yml", status="failed", labels=("nightly",), hosts=("web1",))
    record_playbook(client, path="/srv/other.yml", status="completed", labels=("other",), tasks=(("ok", "ok"),))
    engine = make_engine(sqlite_settings)
    writer, reader = make_sessionmaker(engine), make_sessionmaker(engine, write=False)
    with unit_of_work(writer) as session:
        owner = create_user(session, username="owner", password="pw", role="viewer").id
    ctx = ToolContext(
        "sess-records",
        owner,
        Workspace(Path(sqlite_settings.base_dir) / "ws"),
        choose_sandbox(sqlite_settings.runtime),
        sqlite_settings.runtime,
        writer=writer,
        reader=reader,
    )
    yield ctx, rec, client
    client.close()
    engine.dispose()


def _call(ctx: ToolContext, **args: object) -> dict:
    outcome = execute(RECORDS, ctx, args)
    assert outcome.ok, outcome.error
    json.dumps(outcome.output)  # what the model reads back is JSON text
    return outcome.output


def test_lists_playbooks_by_status_label_and_name(recorded) -> None:
    ctx, rec, _ = recorded
    [found] = _call(ctx, query="playbooks", status="failed", label="nightly")["playbooks"]
    assert found["id"] == rec.playbook["id"] and found["path"] == "/srv/site.yml" and found["labels"] == ["nightly"]
    assert _call(ctx, query="playbooks", label="nope")["playbooks"] == []
    assert [p["path"] for p in _call(ctx, query="playbooks", name="other")["playbooks"]] == ["/srv/other.yml"]
    assert len(_call(ctx, query="playbooks", limit=1)["playbooks"]) == 1


def test_failed_results_name_their_task_file_line_and_host(recorded) -> None:
    ctx, rec, _ = recorded
    answer = _call(ctx, query="failed_results", playbook_id=rec.playbook["id"])
    assert answer["count"] == 1
    [failed] = answer["results"]
    assert failed["status"] == "failed" and failed["message"] == "configure on web1"
    assert failed["task"]["name"] == "configure" and failed["task"]["action"] == "command"
    assert failed["task"]["path"] == "/srv/site.yml" and failed["task"]["lineno"] == 2
    assert failed["host"]["name"] == "web1"
    content = _call(ctx, query="file", file_id=failed["task"]["file_id"])
    assert content["content"] == "- hosts: all\n" and content["truncated"] is False


def test_file_and_facts_are_capped(recorded) -> None:
    ctx, rec, client = recorded
    pid = rec.playbook["id"]
    big = client.post("/api/v1/files", playbook=pid, path="/srv/big.yml", content="x" * (FILE_CHARS * 2))
    answer = _call(ctx, query="file", file_id=big["id"])
    assert len(answer["content"]) == FILE_CHARS and answer["truncated"] is True
    facts = {"ansible_distribution": "Debian", **{f"ansible_fact_{i}": "y" * 500 for i in range(100)}}
    client.patch(f"/api/v1/hosts/{rec.hosts['web1']['id']}", facts=facts)
    host = _call(ctx, query="host", playbook_id=pid, host="web1")
    assert host["facts"]["ansible_distribution"] == "Debian"  # the telling facts come first
    assert len(json.dumps(host["facts"])) <= FACTS_CHARS and host["facts_omitted"] > 0
    assert host["stats"]["failed"] == 0 and _call(ctx, query="host", host_id=host["id"])["name"] == "web1"


def test_answers_fit_the_cap(recorded) -> None:
    ctx, rec, client = recorded
    for index in range(40):
        client.post("/api/v1/playbooks", ansible_version="2.19", path=f"/srv/{'p' * 200}{index}.yml", name="n" * 250)
    answer = _call(ctx, query="playbooks", limit=50)
    assert len(json.dumps(answer)) <= ANSWER_CHARS


def test_refusals_are_tool_errors(recorded) -> None:
    ctx, _, _ = recorded
    for args, expected in (
        ({"query": "delete"}, "query must be one of"),
        ({"query": "failed_results"}, "needs playbook_id"),
        ({"query": "file", "file_id": 999999}, "no file 999999"),
        ({"query": "host"}, "needs host_id"),
        ({"query": "playbooks", "sql": "drop"}, "unknown argument 'sql'"),
    ):
        outcome = execute(RECORDS, ctx, args)
        assert not outcome.ok and expected in outcome.error
    assert ctx.writer is not None
    with unit_of_work(ctx.writer) as session:
        update_user(session, "owner", is_active=False)
    try:
        outcome = execute(RECORDS, ctx, {"query": "playbooks"})
        assert not outcome.ok and "inactive" in outcome.error
    finally:
        with unit_of_work(ctx.writer) as session:
            update_user(session, "owner", is_active=True)
    assert not execute(RECORDS, replace(ctx, reader=None, writer=None), {"query": "playbooks"}).ok
