"""Our ``ara_sdk`` builds the manifest the real ``ara-sdk==0.1.46`` builds, byte for byte.

One sample app (``sdk_apps/every_feature.py``: every decorator and builder, decorators in both orders, all four
endpoint auth modes, clock/cron/ISO ``at`` schedules, tool schedules, secrets of every kind and duplicates) is
loaded by the real SDK in its venv and by ours in-process, with the same script: the manifests' JSON must be
equal, and so must what a deploy sends (0.1.46's ``AraClient.deploy`` against a recorder standing in for the
network, ours from ``App.deploy_plan()``). Then a table of bad declarations must fail with the same messages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import ara_sdk
from tests.support.sdk_venv import ensure_sdk_venv

pytestmark = pytest.mark.compat

APPS = Path(__file__).parent / "sdk_apps"
DOTENV = "# comment\nDB_URL=\"postgres://x\"\nEMPTY_OK=\nnot a pair\nQUOTED='q'\n"

# Run unchanged by both SDKs: ``manifest(path)`` is the manifest's JSON (a client-only SecretDefinition shown
# with its fields), ``errors(cases)`` is, per case, the error (ValueError or not, message) or the result's JSON.
SCRIPT = r"""
import importlib.util, json

import ara_sdk


def encode(value):
    return {"secret": value.name, "values": value.values, "required_keys": value.required_keys, "source": value.source}


def load(path):
    spec = importlib.util.spec_from_file_location("ara_user_app", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return next(v for v in vars(module).values() if isinstance(v, ara_sdk.App))


def manifest(path):
    return json.dumps(load(path).manifest, default=encode)


def errors(cases):
    out = []
    for code in cases:
        namespace = {name: getattr(ara_sdk, name) for name in ara_sdk.__all__ if hasattr(ara_sdk, name)}
        try:
            exec(code, namespace)
        except Exception as exc:
            out.append([isinstance(exc, ValueError), str(exc)])
        else:
            out.append(["ok", json.dumps(namespace.get("result"), default=encode)])
    return json.dumps(out)
"""

# What 0.1.46's ``AraClient.deploy`` sends for a new app, recorded instead of sent.
REAL_DEPLOY = r"""
import pathlib
from ara_sdk.core import AraClient


class Recorder:
    def __init__(self):
        self.create, self.upserts, self.deleted = None, [], []

    def list_apps(self):
        return {"apps": []}

    def create_app(self, body):
        self.create = body
        return {"app": {"id": "app-1"}}

    def update_app(self, app_id, body):
        return {}

    def upsert_secret(self, app_id, *, name, values):
        self.upserts.append([name, values])

    def list_secrets(self, app_id):
        return {"secrets": [{"name": "stale-one"}]}

    def delete_secret(self, app_id, name):
        self.deleted.append(name)

    def create_key(self, app_id, *, name, requests_per_minute):
        return {"key": "k"}


def deploy(path):
    manifest = load(path).manifest
    client = AraClient(manifest=manifest, api_base_url="http://127.0.0.1:9", api_key="k", cwd=pathlib.Path.cwd())
    client.http = recorder = Recorder()
    client.deploy()
    return json.dumps({"create": recorder.create, "upserts": recorder.upserts, "reconcile": bool(recorder.deleted)})
"""

BAD = [
    'App("Bad_Name")',
    'App("")',
    'App("ok").agent()(lambda input: "x")',
    'def f(a, b): return ""\nApp("ok").agent()(f)',
    'def f(x) -> int: return 1\nApp("ok").agent()(f)',
    'def f(x) -> "str": return ""\nApp("ok").agent()(f)',
    'App("ok").tool()(lambda: 1)',
    'def f(): return 1\nApp("ok").tool(id=" ")(f)',
    'runtime(env={"ARA_X": "1"})',
    'runtime(env={"SESSION_ID": "1"})',
    'runtime(env={"1BAD": "x"})',
    'runtime(env={" ": "x"})',
    "runtime(env=[1])",
    'runtime(secrets="x")',
    "runtime(secrets=[3])",
    'Secret.from_name("Bad Name!")',
    'Secret.from_name("a")',
    'Secret.from_name("ok-name", required_keys="X")',
    'Secret.from_name("ok-name", required_keys=["MODAL_X"])',
    "Secret.from_dict({})",
    'Secret.from_dict({"ARA_TOKEN": "x"})',
    'Secret.from_dotenv("missing.env")',
    'sandbox(policy="weird")',
    'sandbox(child_policy="x")',
    'sandbox(spawn_to="x")',
    'sandbox(max_spawn_depth="deep")',
    "sandbox(allow_spawn=True, max_spawn_depth=9)",
    "sandbox(allow_spawn=True, max_children_per_parent=99)",
    'sandbox(spawn_to=["a"], max_total_child_sessions_per_run=81)',
    'sandbox(spawn_to=["a"], ephemeral_ttl_minutes=241)',
    'schedule.every(seconds=30, run=invoke.agent("a"))',
    'schedule.cron(expr="", run=invoke.agent("a"))',
    'schedule.cron(expr="* * * * *", run={"type": "shell"})',
    'schedule.cron(expr="* * * * *", run="agent")',
    'schedule.cron(expr="* * * * *", run={"type": "agent"})',
    'schedule.cron(expr="* * * * *", run={"type": "tool"})',
    'invoke.agent("")',
    'invoke.tool(" ")',
    'invoke.agent("a", input=object())',
    'def f(input): return ""\nApp("ok").schedule(at=["25:00"])(f)',
    'def f(input): return ""\nApp("ok").schedule(at=["tomorrow"])(f)',
    'def f(input): return ""\nApp("ok").schedule(at=[""])(f)',
    'def f(input): return ""\nApp("ok").schedule()(f)',
    'def f(input): return ""\nApp("ok").schedule(id="!!!", cron="* * * * *")(f)',
    'def f(input): return ""\nApp("ok").schedule(cron="* * * * *", run={"type": "x"})(f)',
    'def f(input): return ""\nfastapi_endpoint(method="TRACE")(f)',
    'def f(input): return ""\nfastapi_endpoint(auth="basic")(f)',
    'def f(input): return ""\nfastapi_endpoint(label="!!!")(f)',
    'file("", "x")',
    'entrypoint(" ")',
    'local_file("nope.txt")',
    'git_artifact("")',
    'tarball_artifact("")',
    'command_adapter("")',
    'event_envelope(" ")',
    # accepted declarations: the same value
    'result = sandbox(policy=" Dedicated ", max_concurrency=0, idle_ttl_minutes=0)',
    'result = runtime(model="  ", secrets=[])',
    'd = Secret.from_dict\nresult = runtime(secrets=[d({"K": "1"}), d({"K": "2"}), d({"K": 3}), d({"K": "1"})])',
    'result = schedule.cron(expr="0 9 * * *", run=invoke.agent("a"), timezone="")',
    'result = schedule.every(seconds="90", run={"type": "tool", "tool": "t", "args": [1]})',
    'result = [scheduler.create(schedule.every(seconds=60, run=invoke.agent("a", input={"m": 1})), app_id=" app-1 ")]',
    'result = scheduler.upsert(schedule.cron(expr="1 2 * * *", run=invoke.tool("t", args={"x": 1})), app_id="a")',
    'result = event_envelope("Ticket Created!", metadata={"run_id": "Run 1"})',
    'def f(input): return ""\nfastapi_endpoint(path="a//b///c", label="My Hook", auth="bearer")(f)\n'
    "result = f.__ara_fastapi_endpoint__",
    'def t(a, b):\n  return 1\napp = App("ok")\napp.schedule(at=["10:00"])(t)\nresult = app.manifest',
]


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample app beside its ``.env`` and ``helper.sh`` (what ``Secret.from_dotenv``/``local_file`` read)."""
    path = tmp_path_factory.mktemp("sdk-app")
    shutil.copy(APPS / "every_feature.py", path / "app.py")
    shutil.copy(APPS / "digest_bot.py", path / "digest_bot.py")
    shutil.copy(APPS / "tools_only.py", path / "tools_only.py")
    (path / ".env").write_text(DOTENV)
    (path / "helper.sh").write_text("#!/bin/sh\necho helper\n")
    return path


@pytest.fixture(scope="module")
def real(app_dir: Path) -> dict[str, Any]:
    """The real 0.1.46's answers: the manifest, the deploy, the error table (one subprocess)."""
    venv = ensure_sdk_venv("0.1.46")
    main = (
        "import sys\nanswers = [manifest('app.py'), manifest('digest_bot.py'), manifest('tools_only.py'),"
        " deploy('app.py')]\n"
        "print(json.dumps([*answers, errors(json.loads(sys.argv[1]))]))"
    )
    code = f"{SCRIPT}{REAL_DEPLOY}\n{main}"
    out = subprocess.run(
        [str(venv.python), "-c", code, json.dumps(BAD)],
        cwd=app_dir,
        env=venv.environ(HOME=str(app_dir)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    manifest, seed_manifest, tools_manifest, deploy, errors = json.loads(out.stdout)
    return {
        "manifest": manifest,
        "seed": seed_manifest,
        "tools": tools_manifest,
        "deploy": deploy,
        "errors": json.loads(errors),
    }


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(SCRIPT, namespace)
    return namespace


def test_the_manifest_is_0_1_46s_byte_for_byte(
    real: dict[str, Any], ours: dict[str, Any], app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app_dir)
    assert ours["load"]("app.py").__class__ is ara_sdk.App  # ours, not a copy of the real SDK on some path
    mine = ours["manifest"]("app.py")
    assert mine == real["manifest"]
    parsed = json.loads(mine)  # the sample really exercises what it claims to
    agents = {row["id"]: row for row in parsed["agent"]["agents"]}
    assert list(agents) == ["digest", "helper", "triage", "open", "public", "morning", "evening"]
    assert agents["helper"]["instructions"] == "Redeclared helper."
    modes = {e["auth"]["mode"] for e in parsed["interfaces"]["fastapi_endpoints"]}
    assert modes == {"none", "header", "bearer", "hmac"}
    assert "morning--morning--2030-01-01t10-00-00z" in {w["id"] for w in parsed["workflows"]}
    assert [s["id"] for s in agents["digest"]["schedules"]][-2:] == ["nightly--cron", "nightly--07-05"]
    definitions = parsed["runtime_profile"]["__secret_definitions"]
    assert [d["secret"] for d in definitions][:3] == ["stripe", "sdk-dict-fcba4fac0657", "sdk-dict-fcba4fac0657-2"]
    assert [d["secret"] for d in definitions][4:] == ["plain-name", "dict-ref"]


def test_the_seeds_sample_app_too(real: dict[str, Any], ours: dict[str, Any], app_dir: Path) -> None:
    assert ours["manifest"](str(app_dir / "digest_bot.py")) == real["seed"]
    assert '"one_shot_at": "2030-01-01T10:00:00Z"' in real["seed"]


def test_tool_schedules_without_agents(real: dict[str, Any], ours: dict[str, Any], app_dir: Path) -> None:
    mine = ours["manifest"](str(app_dir / "tools_only.py"))
    assert mine == real["tools"]
    (anchor,) = json.loads(mine)["agent"]["agents"]
    assert anchor["id"] == "scheduled-jobs" and [s["id"] for s in anchor["schedules"]] == ["cleanup", "make-report"]


def test_the_deploy_sends_what_0_1_46_sends(
    real: dict[str, Any], app_dir: Path, monkeypatch: pytest.MonkeyPatch, ours: dict[str, Any]
) -> None:
    monkeypatch.chdir(app_dir)
    plan = ours["load"]("app.py").deploy_plan()
    upserts = [[d.name, d.values] for d in plan.secret_definitions if d.values is not None]
    mine = json.dumps({"create": plan.create_body(), "upserts": upserts, "reconcile": plan.reconcile_secrets})
    assert mine == real["deploy"]
    sent = json.dumps(plan.create_body())
    assert "__secret" not in sent and "s3cret" not in sent and "postgres://x" not in sent
    assert [name for name, _ in upserts][:2] == ["sdk-dict-fcba4fac0657", "sdk-dict-fcba4fac0657-2"]
    assert upserts[2] == [plan.secret_names[3], {"DB_URL": "postgres://x", "EMPTY_OK": "", "QUOTED": "q"}]


def test_bad_declarations_fail_with_0_1_46s_messages(
    real: dict[str, Any], ours: dict[str, Any], app_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(app_dir)
    mine = json.loads(ours["errors"](BAD))
    failures = [case for case, answer in zip(BAD, mine, strict=True) if answer[0] is not True and answer[0] != "ok"]
    assert not failures, f"not a ValueError: {failures}"
    assert sum(answer[0] is True for answer in real["errors"]) >= 50  # the table is mostly refusals
    for case, got, want in zip(BAD, mine, real["errors"], strict=True):
        assert got == want, case
