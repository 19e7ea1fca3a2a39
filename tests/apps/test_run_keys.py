"""An app run's key lets its tools start and follow playbook runs through the API as the app's owner (at most an
operator), only while the run lasts, only on the playbook-run routes, never approving anything."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ara.apps.execution import RunRequest, execute
from ara.apps.models import App, AppRun
from ara.apps.run_keys import KEY_ENV, mint, tool_env
from ara.crypto import SecretBox
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.users.models import User
from tests.apps.test_agent_execution import agent_row, manifest
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, call, fake_llm, text
from tests.support.mission import Mission, mission_control
from tests.support.server import free_port

ECHO = {"actions": [{"name": "echo", "exec": {"script": "echo hi"}}]}
_numbers = itertools.count()


@pytest.fixture(scope="module")
def model() -> Iterator[FakeLLM]:
    with fake_llm() as scripted, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", scripted.url)
        patch.setenv("OPENAI_API_KEY", "sk-test")
        yield scripted


@pytest.fixture(scope="module")
def mission(tmp_path_factory: pytest.TempPathFactory, model: FakeLLM) -> Iterator[Mission]:
    # The sandbox may reach the network (the server on 127.0.0.1): an app tool calls the playbook API.
    port = free_port()  # the server's own URL is what app tools are given (``ARA_API_BASE_URL``)
    settings = make_settings(
        tmp_path_factory.mktemp("run-keys"),
        engine={"poll_interval": 0.1},
        runtime={"network": True},
        server={"port": port},
    )
    with mission_control(settings, port=port) as mc:
        yield mc


def _app_run(
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
    _, run_pk = _app_run(mission, "olivia")  # an operator
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
    ],
)
def test_the_key_reaches_nothing_else(mission: Mission, method: str, path: str) -> None:
    _, run_pk = _app_run(mission, "admin@local")
    with _as_run(mission, run_pk) as client:
        answer = client.request(method, path, json={})
    assert answer.status_code == 403, answer.text


def _app_run_status(mission: Mission, run_pk: str, status: str) -> None:
    engine = make_engine(mission.settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        run = session.get(AppRun, run_pk)
        assert run is not None
        run.status = status
    engine.dispose()


def test_an_ended_run_or_a_forged_key_is_refused(mission: Mission) -> None:
    playbook_id = mission.define("bridge-ended", ECHO)
    _, run_pk = _app_run(mission, "olivia", status="running")
    forged = mint(SecretBox(_other_key()), run_pk)
    with _as_run(mission, run_pk, forged) as client:
        assert _start(client, playbook_id).status_code == 401
    with _as_run(mission, run_pk, mint(SecretBox.from_settings(mission.settings), run_pk)[:-1] + "0") as client:
        assert _start(client, playbook_id).status_code == 401
    _app_run_status(mission, run_pk, "completed")
    with _as_run(mission, run_pk) as client:
        assert _start(client, playbook_id).status_code == 401


def _other_key() -> bytes:
    from cryptography.fernet import Fernet

    return Fernet.generate_key()


def test_never_above_its_owner_and_never_approves(mission: Mission) -> None:
    guarded = mission.define("bridge-guarded", {**ECHO, "approval": {"approvers": {"people": ["admin@local", "paul"]}}})
    _, admins_run = _app_run(mission, "admin@local", status="waiting")
    with _as_run(mission, admins_run) as client:
        started = _start(client, guarded)
        assert started.status_code == 201, started.text
        run: dict[str, Any] = mission.get(started.json()["run_id"])
        assert run["status"] == "pending_approval"  # the owner is an approver, their app run is not
        assert client.post("/playbook", json={"name": "x", "spec": ECHO}).status_code == 403  # an operator at most
    _, viewers_run = _app_run(mission, "victor", status="sleeping")  # a viewer may not run playbooks
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
    playbook_id = mission.define("bridge-from-a-tool", ECHO)
    document = manifest([agent_row("ops", "    return 'You start playbooks.'", skills=["start_playbook"])], [START])
    app_id, run_pk = _app_run(mission, "olivia", status="running", manifest=document)
    model.reset().script(call("start_playbook", {"playbook_id": playbook_id}), text("started it"))
    engine = make_engine(mission.settings)
    upgrade(engine)
    try:
        request = RunRequest(
            app_id=app_id,
            app_slug="bridge",
            run_pk=run_pk,
            run_id="r-tool",
            agent_id="ops",
            input={"message": "start it"},
            manifest=document,
            owner_id=0,
            playbook_id=None,
        )
        outcome = execute(
            mission.settings,
            make_sessionmaker(engine, write=False),
            make_sessionmaker(engine),
            request,
            log=lambda *_: None,
            aborted=lambda: False,
        )
    finally:
        engine.dispose()
    assert outcome.output_text == "started it"
    [tool_call] = outcome.tool_calls
    answer = json.loads(tool_call["result"])
    assert answer["key"] == "********"  # the key reached the tool, and never its recorded output
    run = mission.wait(answer["started"]["run_id"])
    assert run["status"] == "completed" and run["created_by"] == "olivia"
    assert mint(SecretBox.from_settings(mission.settings), run_pk) not in json.dumps(outcome.tool_calls)
