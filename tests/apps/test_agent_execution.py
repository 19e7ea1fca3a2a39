"""``apps.execution.execute`` against a real database, real bubblewrap and the scripted model, with hand-built
manifests (rows as ``ara-sdk`` 0.1.46 makes them): the prompt function and app tools run in the sandbox with the
app's env and secret, the model's tool loop offers the agent's skills, handoffs switch agents, workspaces follow
``sandbox(policy=…)``, ``runtime(files=…, startup=…)`` apply once, records and logs never carry a secret."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ara.apps.agent import workspaces
from ara.apps.agent.validation import validate_agent_tools, validate_model
from ara.apps.execution import AgentOutcome, RunRequest, execute
from ara.apps.models import App, AppSecret
from ara.apps.validation import check_manifest
from ara.crypto import SecretBox
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.errors import AraError, ModelFailed, ValidationFailed
from ara.records import models as m
from ara.records.resources import RESOURCES
from ara.runtime.sandbox.select import choose_sandbox
from ara.settings import RuntimeSettings, Settings
from ara.users.models import User
from tests.conftest import make_settings
from tests.support.fake_llm import Call, FakeLLM, call, calls, failure, fake_llm, text

SECRET = "s3cret-" + secrets.token_hex(8)
GREETING = "hi-from-env"


def prompt_row(name: str, body: str) -> dict[str, Any]:
    """An agent's ``prompt_factory`` as the SDK sends it."""
    return {
        "function_name": name,
        "source": f"def {name}(input: dict) -> str:\n{body}",
        "parameters": {"type": "object", "properties": {"input": {"type": "object"}}, "required": ["input"]},
    }


def agent_row(agent_id: str, body: str, **extra: Any) -> dict[str, Any]:
    instructions = f"Generate instructions at runtime via agent function '{agent_id}'."
    row = {
        "id": agent_id,
        "task": instructions,
        "instructions": instructions,
        "persona": instructions,
        "schedules": [],
        "handoff_to": [],
        "always_on": True,
        "entrypoint": False,
        "prompt_factory": prompt_row(agent_id, body),
    }
    row.update(extra)
    return row


# ``add`` as 0.1.46 makes it; ``env_probe`` writes what it sees into its workspace and returns it.
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
    "function_name": "add",
    "source": 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b',
}
PROBE_SOURCE = """def env_probe(label: str) -> dict:
    import hashlib, os, pathlib
    token = os.environ.get("API_TOKEN", "")
    pathlib.Path("probe.txt").write_text(label + " " + os.environ.get("GREETING", "") + " " + token)
    return {"label": label, "greeting": os.environ.get("GREETING"), "token": token,
            "token_sha256": hashlib.sha256(token.encode()).hexdigest(), "cwd": os.getcwd(),
            "python": __import__("sys").executable}"""
PROBE = {
    "type": "function",
    "function": {
        "name": "env_probe",
        "description": "",
        "parameters": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]},
    },
    "function_name": "env_probe",
    "source": PROBE_SOURCE,
}
BROKEN = {
    "type": "function",
    "function": {"name": "broken", "description": "", "parameters": {"type": "object", "properties": {}}},
    "function_name": "broken",
    "source": 'def broken() -> int:\n    import os\n    raise RuntimeError("no luck with " + os.environ["API_TOKEN"])',
}


def manifest(agents: list[dict[str, Any]], tools: list[dict[str, Any]] = (), **profile: Any) -> dict[str, Any]:
    return {
        "name": "digest-bot",
        "slug": "digest-bot",
        "description": "",
        "agent": {"agents": agents, "default_agent_id": agents[0]["id"], "tools": list(tools)},
        "workflows": [],
        "interfaces": {"fastapi_endpoints": []},
        "runtime_profile": {
            "model": "openai/scripted-model",
            "env": {"GREETING": GREETING},
            "secret_refs": [{"name": "sdk-dict-test"}],
            **profile,
        },
    }


@dataclass
class World:
    settings: Settings
    reader: sessionmaker[Session]
    writer: sessionmaker[Session]
    model: FakeLLM
    owner_id: int
    app_id: str
    logs: list[tuple[str, str, str]] = field(default_factory=list)

    def run(
        self,
        document: dict[str, Any],
        run_input: dict[str, Any] | None = None,
        *,
        agent_id: str | None = None,
        warmup: bool = False,
        settings: Settings | None = None,
        aborted: Callable[[], bool] = lambda: False,
    ) -> tuple[AgentOutcome, int]:
        """Runs the agent with a fresh records playbook; the outcome and the playbook's id."""
        self.logs.clear()
        with unit_of_work(self.writer) as session:
            playbook = RESOURCES["playbooks"].add(
                session, {"name": "app run", "path": "app://digest-bot", "ansible_version": "n/a", "status": "running"}
            )
            playbook_id = int(playbook.id)
        run_pk = "apprun-" + secrets.token_hex(6)
        request = RunRequest(
            app_id=self.app_id,
            app_slug="digest-bot",
            run_pk=run_pk,
            run_id="run-" + run_pk,
            agent_id=agent_id or "",
            input=dict(run_input or {}),
            manifest=document,
            owner_id=self.owner_id,
            playbook_id=playbook_id,
            warmup=warmup,
        )
        outcome = execute(
            settings or self.settings,
            self.reader,
            self.writer,
            request,
            log=lambda kind, message, level: self.logs.append((kind, message, level)),
            aborted=aborted,
        )
        return outcome, playbook_id

    def workspace(self, key: str) -> Path:
        return workspaces.apps_root(self.settings, self.app_id) / key / "workspace"

    def results(self, playbook_id: int) -> list[tuple[str, str, Any]]:
        """``(task name, status, content)`` of every result of the playbook."""
        with unit_of_work(self.reader) as session:
            rows = session.execute(
                select(m.Task.name, m.Result.status, m.Result.content)
                .join(m.Task, m.Task.id == m.Result.task_id)
                .where(m.Result.playbook_id == playbook_id)
                .order_by(m.Result.id)
            ).all()
            return [(name, status, content) for name, status, content in rows]

    def plays(self, playbook_id: int) -> list[str]:
        with unit_of_work(self.reader) as session:
            return list(
                session.scalars(select(m.Play.name).where(m.Play.playbook_id == playbook_id).order_by(m.Play.id))
            )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("agent-exec"))
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    engine = make_engine(settings)
    upgrade(engine)
    reader, writer = make_sessionmaker(engine, write=False), make_sessionmaker(engine)
    box = SecretBox.from_settings(settings)
    with unit_of_work(writer) as session:
        user = User(username="owner@example.org", password_hash="x", role="viewer", teams=[])
        session.add(user)
        session.flush()
        app = App(owner_id=user.id, slug="digest-bot", name="digest-bot", status="active", manifest={})
        session.add(app)
        session.flush()
        session.add(
            AppSecret(
                app_id=app.id,
                name="sdk-dict-test",
                sealed=box.seal(json.dumps({"API_TOKEN": SECRET})),
                keys=["API_TOKEN"],
            )
        )
        owner_id, app_id = int(user.id), str(app.id)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "sk-test")
        yield World(settings, reader, writer, model, owner_id, app_id)
    engine.dispose()


@pytest.fixture
def model(world: World) -> FakeLLM:
    return world.model.reset()


def test_the_prompt_reaches_the_model_and_an_app_tool_runs_in_the_sandbox_with_env_and_secret(
    world: World, model: FakeLLM
) -> None:
    agent = agent_row("digest", '    return "Summarize for " + input["who"]', skills=["env_probe", "add"])
    model.script(call("env_probe", {"label": "first"}), text("all done"))
    outcome, playbook_id = world.run(manifest([agent], [PROBE, ADD]), {"who": "ops", "message": "go"})

    assert outcome.output_text == "all done"
    first, second = model.requests
    assert first.body["model"] == "scripted-model"  # the app's ``openai/`` model, without its prefix
    assert first.messages[0] == {"role": "system", "content": "Summarize for ops"}
    assert first.messages[1] == {"role": "user", "content": "go"}
    assert sorted(first.tool_names) == ["add", "env_probe"]
    assert first.body["tools"][1]["function"]["parameters"] == ADD["function"]["parameters"]
    # The tool ran in the sandbox: its workspace is the agent's, the system's python ran it, it saw env and secret.
    answer = json.loads(second.messages[-1]["content"])
    assert answer["cwd"] == "/root/.ara/workspace"
    assert answer["python"] == "/usr/bin/python3"
    assert answer["greeting"] == GREETING
    assert answer["token_sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert (world.workspace("shared") / "probe.txt").read_text() == f"first {GREETING} {SECRET}"
    # ...but its value never leaves: not to the model, not in the outcome, not in the records or the logs.
    assert answer["token"] == "********"
    assert SECRET not in json.dumps(outcome.tool_calls) and SECRET not in json.dumps([r.body for r in model.requests])
    results = world.results(playbook_id)
    assert [(name, status) for name, status, _ in results] == [("env_probe", "ok")]
    assert SECRET not in json.dumps(results, default=str)
    assert results[0][2]["args"] == {"label": "first"}
    assert world.plays(playbook_id) == ["digest: model turn 1", "digest: model turn 2"]
    assert ("tool.called", "env_probe", "info") in world.logs
    assert outcome.tool_calls[0]["name"] == "env_probe" and outcome.tool_calls[0]["arguments"] == {"label": "first"}


def test_a_builtin_skill_and_a_failing_tool(world: World, model: FakeLLM) -> None:
    agent = agent_row("digest", '    return "write things"', skills=["write_file", "broken"])
    model.script(
        calls(Call("write_file", {"path": "out/note.md", "content": "from the model"}), Call("broken", {})),
        text("tried"),
    )
    outcome, playbook_id = world.run(manifest([agent], [BROKEN]), {"message": "go"})

    assert outcome.output_text == "tried"
    assert sorted(model.requests[0].tool_names) == ["broken", "write_file"]
    assert (world.workspace("shared") / "out" / "note.md").read_text() == "from the model"
    failure = model.requests[1].messages[-1]["content"]
    assert failure == "error: broken raised RuntimeError: no luck with ********"
    assert [(name, status) for name, status, _ in world.results(playbook_id)] == [
        ("write_file", "ok"),
        ("broken", "failed"),
    ]
    assert SECRET not in json.dumps(world.results(playbook_id), default=str) + json.dumps(world.logs)
    assert ("tool.failed", "broken: broken raised RuntimeError: no luck with ********", "error") in world.logs


def test_a_handoff_switches_prompt_and_skills(world: World, model: FakeLLM) -> None:
    digest = agent_row(
        "digest",
        '    return "I am digest"',
        skills=["add"],
        handoff_to=["helper"],
        entrypoint=True,
        sandbox={"policy": "dedicated"},
    )
    helper = agent_row(
        "helper",
        '    return "I am helper of " + str(input.get("x"))',
        skills=["env_probe"],
        sandbox={"policy": "inherited"},
    )
    model.script(call("transfer_to_helper", {}), call("env_probe", {"label": "h"}), text("helped"))
    outcome, playbook_id = world.run(manifest([digest, helper], [ADD, PROBE]), {"x": 7})

    assert outcome.output_text == "helped"
    first, second, third = model.requests
    assert sorted(first.tool_names) == ["add", "transfer_to_helper"] and first.system == "I am digest"
    assert first.messages[1] == {"role": "user", "content": '{"x": 7}'}  # no message: the input as JSON
    assert second.tool_names == ["env_probe"] and second.system == "I am helper of 7"
    assert json.loads(second.messages[-1]["content"])["transferred_to"] == "helper"
    assert third.system == "I am helper of 7"
    assert world.plays(playbook_id) == ["digest: model turn 1", "helper: model turn 2", "helper: model turn 3"]
    assert [name for name, _, _ in world.results(playbook_id)] == ["transfer_to_helper", "env_probe"]
    assert ("agent.handoff", "digest -> helper", "info") in world.logs
    # inherited: the helper worked in the workspace of the agent that handed off to it
    assert (world.workspace("agent-digest") / "probe.txt").read_text().startswith("h ")


def test_a_provider_failure_or_a_stop_fails_the_run(world: World, model: FakeLLM) -> None:
    agent = agent_row("digest", '    return "p"', skills=["add"])
    model.script(failure(503, "overloaded"))
    with pytest.raises(ModelFailed) as raised:
        world.run(manifest([agent], [ADD]), {})
    assert raised.value.message == "the model provider answered 503: overloaded"
    model.script(call("add", {"a": 1, "b": 2}), text("3"))
    with pytest.raises(ModelFailed) as raised:
        world.run(manifest([agent], [ADD]), {}, aborted=lambda: True)
    assert raised.value.message == "the run was stopped during its turn"


def test_the_prompt_function_fails_the_run_with_its_error_or_its_timeout(world: World, model: FakeLLM) -> None:
    failing = agent_row("digest", '    raise ValueError("bad input " + str(input))')
    with pytest.raises(AraError) as raised:
        world.run(manifest([failing]), {"k": 1})
    assert raised.value.message == "the prompt function digest raised ValueError: bad input {'k': 1}"
    looping = agent_row("digest", "    while True:\n        pass")
    quick = world.settings.model_copy(
        update={"apps": world.settings.apps.model_copy(update={"code_timeout_seconds": 1.0})}
    )
    with pytest.raises(AraError) as raised:
        world.run(manifest([looping]), {}, settings=quick)
    assert raised.value.message == "the prompt function digest timed out after 1 s"
    hungry = agent_row("digest", '    return "x" * (400 * 1024 * 1024)')
    with pytest.raises(AraError) as raised:  # runtime(memory_mb=…) lowers the limit for the app's code
        world.run(manifest([hungry], memory_mb=200), {})
    assert raised.value.message == "the prompt function digest raised MemoryError"
    assert model.requests == []


def test_ephemeral_workspaces_go_away_and_shared_ones_stay(world: World, model: FakeLLM) -> None:
    ephemeral = agent_row("scratch", '    return "p"', skills=["env_probe"], sandbox={"policy": "ephemeral"})
    model.script(call("env_probe", {"label": "e"}), text("ok"))
    world.run(manifest([ephemeral], [PROBE]), {})
    root = workspaces.apps_root(world.settings, world.app_id)
    assert not [path for path in root.iterdir() if path.name.startswith("run-")]

    reader = {
        "type": "function",
        "function": {"name": "peek", "description": "", "parameters": {"type": "object", "properties": {}}},
        "function_name": "peek",
        "source": 'def peek() -> str:\n    return open("marker.txt").read()',
    }
    writer = agent_row("digest", '    return "p"', skills=["write_file"], sandbox={"policy": "dedicated"})
    looker = agent_row("looker", '    return "p"', skills=["peek"], sandbox={"policy": "dedicated"})
    document = manifest([writer, looker], [reader])
    model.script(call("write_file", {"path": "marker.txt", "content": "kept"}), text("ok"))
    world.run(document, {}, agent_id="digest")
    model.script(call("peek", {}), text("ok"))
    world.run(document, {}, agent_id="looker")  # dedicated: another agent's workspace is not this one
    assert model.requests[-1].messages[-1]["content"].startswith("error: peek raised FileNotFoundError")
    assert (world.workspace("agent-digest") / "marker.txt").read_text() == "kept"


def test_files_and_startup_apply_once_per_workspace_and_again_when_changed(world: World, model: FakeLLM) -> None:
    agent = agent_row("setup", '    return "p"', sandbox={"policy": "dedicated"})
    profile = {
        "files": [{"path": "notes.txt", "content": "hello", "executable": False}],
        "startup": {"entrypoint": 'echo "ready $GREETING $1" >> startup.log', "shell": "bash", "args": ["one"]},
    }
    document = manifest([agent], **profile)
    prepared = ("sandbox.prepared", "workspace agent-setup: runtime files and startup applied", "info")
    for applied in (True, False):
        outcome, _ = world.run(document, {}, warmup=True)
        assert outcome == AgentOutcome("", [])
        assert (prepared in world.logs) is applied
    home = world.workspace("agent-setup")
    assert (home / "notes.txt").read_text() == "hello"
    assert (home / "startup.log").read_text() == f"ready {GREETING} one\n"
    assert model.requests == []  # a warm-up makes no model call

    changed = manifest([agent], **{**profile, "files": [{"path": "notes.txt", "content": "v2", "executable": True}]})
    world.run(changed, {}, warmup=True)
    assert (home / "notes.txt").read_text() == "v2" and (home / "notes.txt").stat().st_mode & 0o111
    assert (home / "startup.log").read_text() == f"ready {GREETING} one\n" * 2


def test_deploy_validation_names_the_field() -> None:
    good = manifest([agent_row("digest", '    return "p"', skills=["add", "write_file"])], [ADD])
    validate_agent_tools(good)
    validate_model(good)
    bad = manifest([agent_row("digest", '    return "p"', skills=["nope"], handoff_to=["ghost"])], [ADD])
    with pytest.raises(ValidationFailed) as raised:
        validate_agent_tools(bad)
    assert set(raised.value.detail) == {"agent.agents.0.skills", "agent.agents.0.handoff_to"}
    assert "unknown tool 'nope'" in raised.value.detail["agent.agents.0.skills"][0]
    with pytest.raises(ValidationFailed) as raised:  # what a deploy (POST /apps, PATCH /apps/{id}) checks
        check_manifest(bad, RuntimeSettings())
    assert set(raised.value.detail) == {"agent.agents.0.skills", "agent.agents.0.handoff_to"}
    with pytest.raises(ValidationFailed) as raised:
        validate_model({**good, "runtime_profile": {"model": "nowhere/model-x"}})
    assert list(raised.value.detail) == ["runtime_profile.model"]
    helper = agent_row("helper", '    return "p"', runtime={"model": "bad model"})
    with pytest.raises(ValidationFailed) as raised:
        validate_model(manifest([agent_row("digest", '    return "p"'), helper]))
    assert list(raised.value.detail) == ["agent.agents.1.runtime.model"]


def test_the_real_sdk_manifest_runs_as_sent(world: World, model: FakeLLM) -> None:
    """The 0.1.46 sample app's manifest (``tests/apps/data``): its entrypoint agent, dedicated workspace with the
    profile's file, its ``add`` tool and ``write_file`` builtin, and the handoff to ``helper`` offered."""
    document = json.loads((Path(__file__).parent / "data" / "control_manifest.json").read_text())
    validate_agent_tools(document)
    model.script(
        calls(Call("add", {"a": 2, "b": 3}), Call("write_file", {"path": "sum.txt", "content": "5"})), text("sum is 5")
    )
    outcome, _ = world.run(document, {"message": "add them", "run_id": "r-1"})

    assert outcome.output_text == "sum is 5"
    first, second = model.requests
    assert first.body["model"] == "gpt-4o-mini" and first.system == "Summarize {'message': 'add them', 'run_id': 'r-1'}"
    assert sorted(first.tool_names) == ["add", "transfer_to_helper", "write_file"]
    add_text, write_text = [m["content"] for m in second.messages if m["role"] == "tool"]
    assert add_text == "5" and json.loads(write_text)["path"] == "/root/.ara/workspace/sum.txt"
    home = world.workspace("agent-digest")
    assert (home / "notes.txt").read_text() == "hello" and (home / "sum.txt").read_text() == "5"
    assert [(call["name"], call["result"]) for call in outcome.tool_calls][0] == ("add", "5")
