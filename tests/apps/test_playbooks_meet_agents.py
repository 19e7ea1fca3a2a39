"""Playbooks meet agents, end to end on a real server with the scripted model: a real Ansible run labelled
``nightly-bridge`` fails → the records-event trigger starts a playbook run → its ``agent`` action runs the app's
agent → the agent reads the failed result, its task file and the host's facts with the ``records`` tool → its
answer is the action's result, which the next action templates. Also: the action's timeout and the run's cancel
end the app run (on both databases), a user without a role on the app cannot reach it from a playbook, and an app
run's key lets its tools start and follow playbook runs as the app's owner (at most an operator), only while the
run lasts, only on the playbook-run routes, never approving anything."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ara.apps.models import App, AppLogLine, AppRun
from ara.apps.run_keys import KEY_ENV, mint, tool_env
from ara.crypto import SecretBox
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sandbox.select import choose_sandbox
from ara.settings import Settings
from ara.users.models import User
from tests.apps.test_agent_execution import agent_row, manifest
from tests.conftest import make_settings
from tests.support.ansible import ansible_env, run_playbook
from tests.support.databases import fresh_postgres_database
from tests.support.fake_llm import FakeLLM, Reply, Seen, call, failure, fake_llm, text
from tests.support.mission import Mission, mission_control
from tests.support.server import free_port

LABEL = "nightly-bridge"
SLUG = "bridge-triage"
FAILING = """- name: nightly maintenance
  hosts: localhost
  gather_facts: true
  gather_subset: [min]
  tasks:
    - name: say hello
      ansible.builtin.debug:
        msg: hello
    - name: check free space on /srv
      ansible.builtin.fail:
        msg: "/srv is 97% full"
"""


@pytest.fixture(scope="module")
def model() -> Iterator[FakeLLM]:
    with fake_llm() as scripted, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", scripted.url)
        patch.setenv("OPENAI_API_KEY", "sk-test")
        yield scripted


@contextmanager
def bridge(settings: Settings, port: int) -> Iterator[Mission]:
    """A server with the triage app deployed by admin@local, who defines the playbooks too."""
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    with mission_control(settings, port=port) as mc:
        prompt = "    return 'You explain why Ansible runs failed, from the records. ' + str(input.get('message', ''))"
        document = manifest([agent_row("explainer", prompt, skills=["records"], entrypoint=True)])
        document.update(name=SLUG, slug=SLUG, status="active")
        deployed = mc.http.post("/apps", json=document)
        assert deployed.status_code == 201, deployed.text
        yield mc


def bridge_settings(base_dir: Path, database_url: str = "") -> tuple[Settings, int]:
    # The server's own URL is what app tools are given (``ARA_API_BASE_URL``), and the sandbox may reach it.
    port = free_port()
    settings = make_settings(
        base_dir, database_url, engine={"poll_interval": 0.1}, runtime={"network": True}, server={"port": port}
    )
    return settings, port


@pytest.fixture(scope="module")
def mission(tmp_path_factory: pytest.TempPathFactory, model: FakeLLM) -> Iterator[Mission]:
    with bridge(*bridge_settings(tmp_path_factory.mktemp("bridge"))) as mc:
        yield mc


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_mission(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mission]:
    """The SQLite server above, or one on PostgreSQL (its procrastinate workers, one per queue)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("mission")
        return
    request.getfixturevalue("model")
    with fresh_postgres_database() as url, bridge(*bridge_settings(tmp_path_factory.mktemp("bridge-pg"), url)) as mc:
        yield mc


def _tool_results(seen: Seen) -> list[Any]:
    """The tool results the model was sent so far, decoded, oldest first."""
    return [json.loads(m["content"]) for m in seen.messages if m.get("role") == "tool"]


def _explainer_script() -> list[Reply | Any]:
    """A model that looks the failure up step by step, each call built from what the previous one returned, then
    answers quoting it all."""

    def failed_results(seen: Seen) -> Reply:
        [latest, *_] = _tool_results(seen)[-1]["playbooks"]
        return call("records", {"query": "failed_results", "playbook_id": latest["id"]})

    def task_file(seen: Seen) -> Reply:
        [failed] = _tool_results(seen)[-1]["results"]
        return call("records", {"query": "file", "file_id": failed["task"]["file_id"]})

    def host_facts(seen: Seen) -> Reply:
        [failed] = _tool_results(seen)[1]["results"]
        return call("records", {"query": "host", "host_id": failed["host"]["id"]})

    def answer(seen: Seen) -> Reply:
        _, failures, source, host = _tool_results(seen)
        [failed] = failures["results"]
        task = failed["task"]
        line = source["content"].splitlines()[task["lineno"] - 1].strip()
        return text(
            f"Task '{task['name']}' ({task['action']}) failed on {failed['host']['name']} at "
            f"{task['path']}:{task['lineno']} ({line}): {failed['message']}. "
            f"The host runs {host['facts']['ansible_distribution']}."
        )

    first = call("records", {"query": "playbooks", "status": "failed", "label": LABEL})
    return [first, failed_results, task_file, host_facts, answer]


def _runs(mission: Mission, playbook_id: str) -> list[dict[str, Any]]:
    return list(mission.http.get("/playbook/runs", params={"playbook_id": playbook_id}).json())


def _wait_for_run(mission: Mission, playbook_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not (runs := _runs(mission, playbook_id)):
        assert time.monotonic() < deadline, "the records event started no run"
        time.sleep(0.2)
    return runs[0]


def test_a_failed_ansible_run_is_explained_by_an_agent(mission: Mission, model: FakeLLM, tmp_path: Path) -> None:
    model.reset().script(*_explainer_script())
    playbook_id = mission.define(
        "explain-nightly-failures",
        {
            "on": {"records": [{"status": "failed", "labels": [LABEL]}]},
            "actions": [
                {
                    "name": "explain",
                    "timeout": "90s",
                    "agent": {
                        "app": SLUG,
                        "agent": "explainer",
                        "message": "Why did recorded playbook {{ request.records_playbook.id }} fail?",
                        "input": {"records_playbook": "{{ request.records_playbook.id }}"},
                    },
                },
                {"name": "report", "exec": {"script": "echo \"{{ getAction('explain').result.output_text }}\""}},
            ],
        },
    )
    source = tmp_path / "nightly.yml"
    source.write_text(FAILING)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    env = {**ansible_env(tmp_path, client="http", server=mission.url), "ARA_DEFAULT_LABELS": LABEL}
    ran = run_playbook(str(source), env, inventory=inventory)
    assert ran.returncode != 0, ran.output  # the Ansible run failed, and was recorded so

    run = _wait_for_run(mission, playbook_id)
    assert run["trigger"] == "records"
    ended = mission.wait(run["id"], timeout=120)
    assert ended["status"] == "completed", ended
    explain, report = mission.status(run["id"])["actions"]

    # What the agent said is built from the records, as the API shows them.
    recorded = run["request"]["records_playbook"]["id"]
    [failed] = mission.http.get("/api/v1/results", params={"playbook": recorded, "status": "failed"}).json()["results"]
    task = mission.http.get(f"/api/v1/tasks/{failed['task']}").json()
    host = mission.http.get(f"/api/v1/hosts/{failed['host']}").json()
    path = (
        task["file"]["path"]
        if isinstance(task["file"], dict)
        else mission.http.get(f"/api/v1/files/{task['file']}").json()["path"]
    )
    answer = explain["result"]["output_text"]
    assert f"Task '{task['name']}'" in answer and task["name"] == "check free space on /srv"
    line = FAILING.splitlines()[task["lineno"] - 1].strip()  # the task's line, read from the task file
    assert f"{path}:{task['lineno']} ({line})" in answer and path == str(source)
    assert "/srv is 97% full" in answer and f"on {host['name']}" in answer
    assert f"runs {host['facts']['ansible_distribution']}." in answer
    assert [c["name"] for c in explain["result"]["tool_calls"]] == ["records"] * 4
    assert report["result"]["stdout"].strip() == answer  # templatable by the next action

    # The app run is an ordinary one of the app: started by the playbook, its input the action's.
    app_run = _find_app_run(mission, explain["result"]["run_id"])
    assert app_run.trigger == "playbook" and app_run.status == "completed"
    assert app_run.input["records_playbook"] == str(recorded) and "fail?" in app_run.input["message"]


def _find_app_run(mission: Mission, run_id: str) -> AppRun:
    engine = make_engine(mission.settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            found = session.scalar(select(AppRun).where(AppRun.run_id == run_id))
            assert found is not None
            return found
    finally:
        engine.dispose()


def _ask(timeout: str = "") -> dict[str, Any]:
    action: dict[str, Any] = {"name": "ask", "agent": {"app": SLUG, "message": "hello"}}
    return {**action, "timeout": timeout} if timeout else action


def test_the_actions_timeout_and_the_runs_cancel_end_the_app_run(any_mission: Mission, model: FakeLLM) -> None:
    mission = any_mission
    held = threading.Event()
    model.reset().script(text("late", gate=held, gate_timeout=60), text("late", gate=held, gate_timeout=60))
    try:
        timed = mission.define("bridge-timeout", {"actions": [_ask("2s")]})
        ended = mission.wait(mission.run(timed), timeout=60)
        [action] = mission.status(ended["id"])["actions"]
        assert action["status"] == "timed_out", action
        assert _find_app_run(mission, action["result"]["run_id"]).status == "cancelled"

        cancelled = mission.define("bridge-cancel", {"actions": [_ask()]})
        run_id = mission.run(cancelled)
        deadline = time.monotonic() + 60
        while len(model.requests) < 2:  # the second agent is talking to the model
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert mission.http.post(f"/playbook/run/cancel/{run_id}").status_code in (200, 201)
        mission.wait(run_id, "cancelled", timeout=30)
        deadline = time.monotonic() + 30
        while True:
            runs = [r for r in _app_runs(mission) if r.trigger == "playbook" and r.status != "completed"]
            if len(runs) == 2 and all(r.status == "cancelled" for r in runs):
                break
            assert time.monotonic() < deadline, [(r.run_id, r.status) for r in runs]
            time.sleep(0.1)
    finally:
        held.set()


def _app_runs(mission: Mission) -> list[AppRun]:
    engine = make_engine(mission.settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            return list(session.scalars(select(AppRun)))
    finally:
        engine.dispose()


def test_the_app_runs_failure_is_the_actions_error(mission: Mission, model: FakeLLM) -> None:
    model.reset().script(failure(400, "the model refused this prompt"))
    playbook_id = mission.define("bridge-failing-agent", {"actions": [_ask()]})
    ended = mission.wait(mission.run(playbook_id), timeout=60)
    assert ended["status"] == "failed"
    [action] = mission.status(ended["id"])["actions"]
    app_run = _find_app_run(mission, action["result"]["run_id"])
    assert app_run.status == "failed" and "the model refused this prompt" in (app_run.error or "")
    assert action["status"] == "failed" and action["error"] == app_run.error


def test_a_user_without_a_role_on_the_app_cannot_run_it(mission: Mission) -> None:
    playbook_id = mission.define("bridge-stranger", {"actions": [_ask()]})
    with mission.as_user("olivia") as olivia:  # an operator: she may run the playbook, the app is not hers
        ended = mission.wait(mission.run(playbook_id, olivia), timeout=60)
    assert ended["status"] == "failed"
    [action] = mission.status(ended["id"])["actions"]
    assert action["error"] == f"agent not started: app {SLUG!r} not found"


def test_an_unknown_agent_fails_the_action_naming_it(mission: Mission) -> None:
    action = {"name": "ask", "agent": {"app": SLUG, "agent": "nobody", "message": "hello"}}
    ended = mission.wait(mission.run(mission.define("bridge-unknown-agent", {"actions": [action]})), timeout=60)
    [failed] = mission.status(ended["id"])["actions"]
    assert ended["status"] == "failed" and failed["error"] == "agent not started: app has no agent 'nobody'"


def test_a_paused_app_fails_the_action_naming_its_status(mission: Mission) -> None:
    document = manifest([agent_row("sleeper", "    return 'You sleep.'", entrypoint=True)])
    document.update(name="bridge-paused", slug="bridge-paused", status="paused")
    assert mission.http.post("/apps", json=document).status_code == 201
    action = {"name": "ask", "agent": {"app": "bridge-paused", "message": "hello"}}
    ended = mission.wait(mission.run(mission.define("bridge-paused-agent", {"actions": [action]})), timeout=60)
    [failed] = mission.status(ended["id"])["actions"]
    assert ended["status"] == "failed" and failed["error"].startswith(
        "agent not started: app 'bridge-paused' is paused"
    )
    assert not [r for r in _app_runs(mission) if r.agent_id == "sleeper"]


# -- an app run's key ---------------------------------------------------------------------------------------

ECHO = {"actions": [{"name": "echo", "exec": {"script": "echo hi"}}]}
_numbers = itertools.count()


def _insert_app_run(
    mission: Mission, owner: str, status: str = "scheduled", manifest: dict[str, Any] | None = None
) -> tuple[str, str]:
    """An app of ``owner`` with one run in ``status`` (scheduled far ahead: no executor picks it up)."""
    engine = make_engine(mission.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            owner_id = session.scalar(select(User.id).where(User.username == owner))
            number = next(_numbers)
            app = App(owner_id=owner_id, slug=f"bridge-{number}", name="bridge", manifest=manifest or {})
            session.add(app)
            session.flush()
            run = AppRun(
                app_id=app.id,
                run_id=f"r-{number}",
                agent_id="main",
                status=status,
                trigger="api",
                scheduled_time=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
            )
            session.add(run)
            session.flush()
            return app.id, run.id
    finally:
        engine.dispose()


def _as_run(mission: Mission, run_pk: str, key: str | None = None) -> httpx.Client:
    token = key or mint(SecretBox.from_settings(mission.settings), run_pk)
    return httpx.Client(base_url=mission.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _start(client: httpx.Client, playbook_id: str) -> httpx.Response:
    return client.post("/playbook/run", json={"id": playbook_id})


def test_a_live_run_starts_and_follows_a_playbook_run_as_its_owner(mission: Mission) -> None:
    playbook_id = mission.define("bridge-echo", ECHO)
    _, run_pk = _insert_app_run(mission, "olivia")  # an operator
    env = tool_env(mission.settings, SecretBox.from_settings(mission.settings), run_pk)
    assert env["ARA_API_BASE_URL"] == mission.url
    with _as_run(mission, run_pk, env[KEY_ENV]) as client:
        started = _start(client, playbook_id)
        assert started.status_code == 201, started.text
        run_id = started.json()["run_id"]
        assert mission.wait(run_id)["status"] == "completed"
        shown = client.get(f"/playbook/run/{run_id}").json()
        assert shown["created_by"] == "olivia"
        assert client.get(f"/playbook/run/{run_id}/status").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users"),
        ("POST", "/playbook"),
        ("GET", "/apps"),
        ("GET", "/session/list"),
        ("POST", "/playbook/run/approve/x/y"),
        ("POST", "/playbook/run/reject/x/y"),
        ("POST", "/playbook/run/reject/x"),
        ("POST", "/playbook/run/rerun/x"),
        ("DELETE", "/playbook/run/x"),
    ],
)
def test_the_key_reaches_nothing_else(mission: Mission, method: str, path: str) -> None:
    _, run_pk = _insert_app_run(mission, "admin@local")
    with _as_run(mission, run_pk) as client:
        answer = client.request(method, path, json={})
    assert answer.status_code == 403, answer.text


def test_the_key_is_no_app_key(mission: Mission) -> None:
    app_id, run_pk = _insert_app_run(mission, "admin@local")
    with _as_run(mission, run_pk) as client:
        answer = client.post(f"/v1/apps/{app_id}/run", json={"input": {"message": "again"}})
    assert answer.status_code == 401, answer.text


def test_the_key_opens_no_websocket(mission: Mission) -> None:
    """WebSockets skip the HTTP middleware that limits the key to its paths: the socket's own check refuses it."""
    _, run_pk = _insert_app_run(mission, "admin@local")
    token = mint(SecretBox.from_settings(mission.settings), run_pk)
    url = mission.url.replace("http://", "ws://") + "/session/runtime/control/ws"
    for query, headers in ((f"?token={token}", {}), ("", {"Authorization": f"Bearer {token}"})):
        with pytest.raises(InvalidStatus) as refused:
            connect(url + query, additional_headers=headers, open_timeout=30)
        assert refused.value.response.status_code == 401
        assert "run's key" in json.loads(refused.value.response.body)["error"]["message"]


def _app_run_status(mission: Mission, run_pk: str, status: str) -> None:
    engine = make_engine(mission.settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        run = session.get(AppRun, run_pk)
        assert run is not None
        run.status = status
    engine.dispose()


def test_an_ended_run_or_a_forged_key_is_refused(mission: Mission) -> None:
    playbook_id = mission.define("bridge-ended", ECHO)
    _, run_pk = _insert_app_run(mission, "olivia", status="running")
    forged = mint(SecretBox(Fernet.generate_key()), run_pk)
    with _as_run(mission, run_pk, forged) as client:
        assert _start(client, playbook_id).status_code == 401
    genuine = mint(SecretBox.from_settings(mission.settings), run_pk)
    tampered = genuine[:-1] + ("1" if genuine.endswith("0") else "0")  # a hex MAC ends in "0" one time in 16
    with _as_run(mission, run_pk, tampered) as client:
        assert _start(client, playbook_id).status_code == 401
    _app_run_status(mission, run_pk, "completed")
    with _as_run(mission, run_pk) as client:
        assert _start(client, playbook_id).status_code == 401


def test_never_above_its_owner_and_never_approves(mission: Mission) -> None:
    guarded = mission.define("bridge-guarded", {**ECHO, "approval": {"approvers": {"people": ["admin@local", "paul"]}}})
    _, admins_run = _insert_app_run(mission, "admin@local", status="waiting")
    with _as_run(mission, admins_run) as client:
        started = _start(client, guarded)
        assert started.status_code == 201, started.text
        run: dict[str, Any] = mission.get(started.json()["run_id"])
        assert run["status"] == "pending_approval"  # the owner is an approver, their app run is not
        assert client.post("/playbook", json={"name": "x", "spec": ECHO}).status_code == 403  # an operator at most
    _, viewers_run = _insert_app_run(mission, "victor", status="sleeping")  # a viewer may not run playbooks
    with _as_run(mission, viewers_run) as client:
        assert _start(client, guarded).status_code == 403


# An app tool calling the playbook API as its run: the key and the URL come from the sandbox's environment.
START_SOURCE = """def start_playbook(playbook_id: str) -> dict:
    import json, os, urllib.request
    key = os.environ["ARA_APP_RUN_KEY"]
    request = urllib.request.Request(
        os.environ["ARA_API_BASE_URL"] + "/playbook/run",
        data=json.dumps({"id": playbook_id}).encode(),
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return {"started": json.loads(answer.read()), "key": key}"""
START = {
    "type": "function",
    "function": {
        "name": "start_playbook",
        "description": "Start a playbook run.",
        "parameters": {
            "type": "object",
            "properties": {"playbook_id": {"type": "string"}},
            "required": ["playbook_id"],
        },
    },
    "function_name": "start_playbook",
    "source": START_SOURCE,
}


def test_an_app_tool_starts_a_playbook_run_with_its_runs_key(mission: Mission, model: FakeLLM) -> None:
    """Through the server end to end: a playbook's agent action runs an agent whose tool starts another playbook."""
    echo = mission.define("bridge-from-a-tool", ECHO)
    document = manifest([agent_row("ops", "    return 'You start playbooks.'", skills=["start_playbook"])], [START])
    document.update(name="bridge-ops", slug="bridge-ops", status="active")
    assert mission.http.post("/apps", json=document).status_code == 201  # admin@local's app
    launcher = mission.define(
        "bridge-launcher", {"actions": [{"name": "launch", "agent": {"app": "bridge-ops", "message": "go"}}]}
    )
    model.reset().script(call("start_playbook", {"playbook_id": echo}), text("started it"))
    ended = mission.wait(mission.run(launcher), timeout=60)
    assert ended["status"] == "completed", ended
    [action] = mission.status(ended["id"])["actions"]
    assert action["result"]["output_text"] == "started it"
    [tool_call] = action["result"]["tool_calls"]
    answer = json.loads(tool_call["result"])
    assert answer["key"] == "********"  # the key reached the tool, and never what it returned
    started = mission.wait(answer["started"]["run_id"])
    assert started["status"] == "completed" and started["created_by"] == "admin@local"

    app_run = _find_app_run(mission, action["result"]["run_id"])
    key = mint(SecretBox.from_settings(mission.settings), app_run.id)
    listed = mission.http.get("/api/v1/results", params={"playbook": app_run.playbook_id}).json()["results"]
    recorded = [mission.http.get(f"/api/v1/results/{row['id']}").json() for row in listed]
    assert any("started" in json.dumps(result["content"]) for result in recorded)  # the tool's call is recorded
    assert all(key not in json.dumps(result) for result in recorded)
    assert key not in json.dumps([row.message for row in _log_lines(mission, app_run.app_id)])
    with _as_run(mission, app_run.id, key) as client:  # its run has ended: so has its key
        assert _start(client, echo).status_code == 401


def _log_lines(mission: Mission, app_id: str) -> list[AppLogLine]:
    engine = make_engine(mission.settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            rows = list(session.scalars(select(AppLogLine).where(AppLogLine.app_id == app_id)))
            assert rows  # the run logged its steps
            return rows
    finally:
        engine.dispose()
