"""Runtime sessions in the records API: a session is a playbook labelled ``runtime``, a chat turn a play, a tool
call a task with one result on host ``sandbox``, so ``ara result list --status failed`` shows a failed tool call
beside failed Ansible tasks. Secrets never reach a record; an idle session stops on the engine clock, keeps its
files and closes its playbook."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ara.clients.http import AraHttpClient
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine import housekeeping
from ara.records import models as m
from ara.records.resources import RESOURCES
from ara.runtime import recording
from ara.runtime.models import RuntimeSession
from ara.runtime.sessions import start_session, stop_session
from ara.runtime.tools.base import ToolOutcome
from ara.server.app import create_app
from ara.settings import Settings
from tests.cli.conftest import Cli
from tests.conftest import make_settings
from tests.support.factories import record_playbook
from tests.support.runtime_users import ALICE, seed_runtime_users
from tests.support.server import running_server
from tests.support.sql import statements_sent


def _execute(client: httpx.Client, tool: str, **args: Any) -> dict[str, Any]:
    body = {"session_id": "", "tool_name": tool, "args": args, "agent_id": None}
    response = client.post("/session/runtime/tools/execute", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_failed_tool_call_is_listed_beside_failed_ansible_tasks(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    users = seed_runtime_users(settings)
    with (
        running_server(settings) as url,
        httpx.Client(base_url=url, headers=users[ALICE].headers, timeout=60) as alice,
        AraHttpClient(endpoint=url) as records,
    ):
        sid = alice.post("/session/start", json={}).json()["session_id"]
        assert _execute(alice, "write_file", path="notes.txt", content="hello")["ok"]
        assert _execute(alice, "read_file", path="missing.txt")["ok"] is False
        ansible = record_playbook(records, status="failed")  # one failed task on two hosts, as the callback sends

        failed = records.get("/api/v1/results", status="failed")["results"]
        assert len(failed) == 3
        ours = [r for r in failed if r["playbook"] != ansible.playbook["id"]]
        assert len(ours) == 1
        result = records.get(f"/api/v1/results/{ours[0]['id']}")
        assert result["content"]["args"] == {"path": "missing.txt"} and result["content"]["output"] is None
        assert "missing.txt" in result["content"]["error"]
        assert result["task"]["action"] == "ara_runtime.read_file" and result["task"]["name"] == "read_file"
        assert result["host"]["name"] == "sandbox" and result["play"]["name"] == "direct tool calls"

        playbook = records.get(f"/api/v1/playbooks/{result['playbook']['id']}")
        assert playbook["path"] == f"runtime://{ALICE}/{sid}" and playbook["name"] == f"runtime session {sid}"
        assert [label["name"] for label in playbook["labels"]] == ["runtime"] and playbook["status"] == "running"
        oks = records.get("/api/v1/results", playbook=playbook["id"], status="ok")["results"]
        assert len(oks) == 1

        # The records CLI, over HTTP, lists both kinds of failure.
        listed = Cli(settings).json("result", "list", "--status", "failed", "--client", "http", "--server", url)
        assert {r["id"] for r in listed} == {r["id"] for r in failed}

        assert alice.post("/session/stop", json={}).status_code == 200
        closed = records.get(f"/api/v1/playbooks/{playbook['id']}")
        assert closed["status"] == "completed" and closed["ended"] is not None
        host = records.get("/api/v1/hosts", playbook=playbook["id"])["results"][0]
        assert (host["name"], host["ok"], host["failed"]) == ("sandbox", 1, 1)  # counted at the end, as Ansible does
        assert {play["status"] for play in records.get("/api/v1/plays", playbook=playbook["id"])["results"]} == {
            "completed"
        }


@pytest.fixture
def db(settings: Settings) -> Iterator[tuple[Any, int]]:
    """The database's writer (migrated) and a user, on SQLite and PostgreSQL (row locks differ)."""
    users = seed_runtime_users(settings, ALICE)
    app = create_app(settings, workers=False)
    try:
        yield app.state.ara.writer, users[ALICE].user_id
    finally:
        app.state.ara.engine.dispose()


def _outcome(name: str, ok: bool, **args: Any) -> ToolOutcome:
    return ToolOutcome(name, args, ok, {"echo": dict(args)} if ok else None, "" if ok else "it failed", 0.25)


def test_turns_are_plays_and_secrets_never_reach_a_record(settings: Settings, db: tuple[Any, int]) -> None:
    writer, user_id = db
    with unit_of_work(writer) as session:
        runtime_session = start_session(session, settings, user_id)
        play_id = recording.begin_turn(session, runtime_session, name="turn 1: make hello.py")
        secret = "tok-5ecret"
        outcome = _outcome("exec", True, command=f"curl -H 'Authorization: {secret}' x", note="plain")
        recording.record_tool_call(session, runtime_session, outcome, play_id=play_id, secrets=[secret, ""])
        recording.record_tool_call(session, runtime_session, _outcome("read_file", False, path="x"), play_id=play_id)
        recording.end_turn(session, play_id, failed=True)
    with unit_of_work(writer) as session:
        results = session.scalars(select(m.Result).where(m.Result.play_id == play_id).order_by(m.Result.id)).all()
        assert [r.status for r in results] == ["ok", "failed"]
        stored = str(results[0].content)
        assert secret not in stored and "Authorization: ********" in stored and "plain" in stored
        play = session.get(m.Play, play_id)
        assert play is not None and play.status == "completed" and play.name == "turn 1: make hello.py"
        playbook = session.get(m.Playbook, play.playbook_id)
        assert playbook is not None and playbook.status == "failed"  # a failed turn
        tasks = session.scalars(select(m.Task).where(m.Task.play_id == play_id).order_by(m.Task.id)).all()
        assert [(t.action, t.lineno, t.status) for t in tasks] == [
            ("ara_runtime.exec", 1, "completed"),
            ("ara_runtime.read_file", 2, "failed"),
        ]
        row = session.get(RuntimeSession, runtime_session.id)
        assert row is not None
        stop_session(row, "done")
        recording.close_session(session, row)
    with unit_of_work(writer) as session:
        playbook = session.get(m.Playbook, playbook.id)
        assert playbook is not None and playbook.status == "failed" and playbook.ended is not None


def test_concurrent_first_calls_make_one_playbook_per_session(settings: Settings, db: tuple[Any, int]) -> None:
    writer, user_id = db
    with unit_of_work(writer) as session:
        runtime_session = start_session(session, settings, user_id)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def call(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with unit_of_work(writer) as session:
                own = session.get(RuntimeSession, runtime_session.id)
                assert own is not None
                recording.record_tool_call(session, own, _outcome("glob", True, pattern=str(index)), play_id=None)
        except BaseException as exc:  # reported below, from the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    with unit_of_work(writer) as session:
        playbooks = session.scalars(select(m.Playbook.id).where(m.Playbook.path.like("runtime://%"))).all()
        assert len(playbooks) == 1
        plays = session.scalars(select(m.Play.name).where(m.Play.playbook_id == playbooks[0])).all()
        assert plays == ["direct tool calls"]
        assert len(session.scalars(select(m.Result.id).where(m.Result.playbook_id == playbooks[0])).all()) == 4


def test_an_idle_session_stops_on_the_clock_keeps_its_files_and_closes_its_playbook(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, runtime={"idle_ttl_seconds": 1.5})
    users = seed_runtime_users(settings, ALICE)
    with (
        running_server(settings) as url,
        httpx.Client(base_url=url, headers=users[ALICE].headers, timeout=60) as alice,
    ):
        sid = alice.post("/session/start", json={}).json()["session_id"]
        # Tool calls keep it in use: twice the TTL later it still runs.
        busy_until = time.monotonic() + 3
        while time.monotonic() < busy_until:
            assert _execute(alice, "write_file", path="kept.txt", content="still here")["ok"]
            time.sleep(0.3)
        assert alice.get("/session/status").json()["active"]
        deadline = time.monotonic() + 20
        while (status := alice.get("/session/status").json())["active"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["session_id"] == sid and "idle" in status["session"]["stop_reason"]
        assert (settings.sessions_dir / sid / "workspace" / "kept.txt").read_text() == "still here"
        playbook = httpx.get(f"{url}/api/v1/playbooks", params={"label": "runtime"}).json()["results"][0]
        assert playbook["status"] == "completed" and playbook["ended"] is not None
        body = {"session_id": sid, "tool_name": "read_file", "args": {"path": "kept.txt"}}
        assert alice.post("/session/runtime/tools/execute", json=body).status_code == 503


def test_a_recording_deleted_through_the_records_api_is_made_again(settings: Settings, db: tuple[Any, int]) -> None:
    writer, user_id = db
    with unit_of_work(writer) as session:
        runtime_session = start_session(session, settings, user_id)
        recording.record_tool_call(session, runtime_session, _outcome("glob", True, pattern="a"), play_id=None)
    first = runtime_session.playbook_id
    assert first is not None
    with unit_of_work(writer) as session:
        RESOURCES["playbooks"].destroy(session, str(first))  # what DELETE /api/v1/playbooks/<id> does
    with unit_of_work(writer) as session:  # the caller still holds the old id, as a route's earlier read does
        recording.record_tool_call(session, runtime_session, _outcome("glob", False, pattern="b"), play_id=None)
    with unit_of_work(writer) as session:
        row = session.get(RuntimeSession, runtime_session.id)
        assert row is not None and row.playbook_id is not None  # SQLite may hand the freed id out again
        assert session.get(m.Playbook, row.playbook_id) is not None
        results = session.scalars(select(m.Result).where(m.Result.playbook_id == row.playbook_id)).all()
        assert [r.status for r in results] == ["failed"]


def test_the_clock_writes_nothing_while_no_session_is_idle(tmp_path: Path) -> None:
    """The idle check runs every second: with sessions in use it reads, and takes SQLite's one write lock only on a
    second with a session to stop."""
    settings = make_settings(tmp_path, runtime={"idle_ttl_seconds": 60})
    users = seed_runtime_users(settings, ALICE)
    app = create_app(settings, workers=False)
    state = app.state.ara
    try:
        with unit_of_work(state.writer) as session:
            sid = start_session(session, settings, users[ALICE].user_id).id
        with statements_sent(state.engine) as seen:
            housekeeping.stop_idle_runtime_sessions(state.engine_context, utcnow())
            statements = [statement for _, statement, _ in seen]
            assert statements and not [s for s in statements if s.startswith(("BEGIN IMMEDIATE", "UPDATE"))]
            seen.clear()
            housekeeping.stop_idle_runtime_sessions(state.engine_context, utcnow() + dt.timedelta(seconds=61))
            statements = [statement for _, statement, _ in seen]
        assert "BEGIN IMMEDIATE" in statements
        with unit_of_work(state.reader) as session:
            assert session.get(RuntimeSession, sid).status == "stopped"
    finally:
        state.engine.dispose()
