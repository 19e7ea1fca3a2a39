"""Apps end to end: the real ``ara-sdk`` 0.1.46 CLI (the ``App`` API), the real 0.1.58 CLI (the ``Job`` API) and
ours (our ``ara_sdk`` + ``ara``), unchanged, against one real ``ara server`` on 127.0.0.1 with a scripted model.

Each client has its own user, HOME and app: deploy (the stored manifest is what was sent), redeploy (updated, a
new key, the stale secret gone), ``run`` with a tool call (the tool's source ran in the sandbox and saw the app's
env and secret), ``setup-auth``, ``run-async`` poll and webhook (the receiver checks the signature),
``run-status``, ``events`` twice with one key (one run), ``logs`` (a run's rows and its ``run.completed``), a
runtime key over its rpm (429), ``setup`` and ``invite``, the hmac endpoint with the secret ``setup`` printed (a
good signature 200 with the agent's answer; stale, missing or wrong 401 and no run; another method 405), the
one-shot schedule fired once (while the tests before ran) and spent; then the secret is looked for in every answer
the server gave, every log row and every record. 0.1.58 has only deploy, run and logs, and no endpoint. Ours must
send what 0.1.46 sends for each command (the last test compares them) and fail with one line and exit code 2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from ara.apps.models import AppLogLine, AppRun, AppSchedule
from ara.cli.main import app as cli
from ara.settings import Settings
from ara_sdk import AraApiError, AraClient, CredentialsError
from ara_sdk.loader import load_app
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, call, fake_llm, text
from tests.support.http_watch import Exchange, HttpWatch
from tests.support.runtime_users import RuntimeUser, seed_runtime_users
from tests.support.sdk_venv import SdkVenv, ensure_sdk_venv
from tests.support.server import running_server
from tests.support.tcp_proxy import tcp_proxy
from tests.support.webhook_receiver import Receiver, signature_ok, webhook_receiver

pytestmark = pytest.mark.compat

CLIENTS = ("sdk-0.1.46", "sdk-0.1.58", "ours")
WAIT = 60.0  # seconds any run may take on a loaded machine
#: How far after a client's first command its one-shot schedule is set: its deploy must be stored before then
#: (a moment already past is never fired), and the rest of the client's tests run meanwhile.
ONE_SHOT_LEAD = dt.timedelta(seconds=6)
CLI_CRON = "0 0 1 1 *"  # 0.1.58's ``deploy --cron``: New Year, never while the module runs

# The tool every app declares: what it sees where it runs (never the secret itself: its digest).
PROBE = '''
def probe(word: str) -> dict:
    """Report what the tool sees where it runs."""
    import hashlib
    import os

    try:
        with open("/usr/ara-escape-probe", "w") as handle:
            handle.write(word)
        wrote_outside = True
    except OSError:
        wrote_outside = False
    token = os.environ.get("API_TOKEN", "")
    return {
        "word": word,
        "greeting": os.environ.get("GREETING"),
        "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "pid": os.getpid(),
        "wrote_outside": wrote_outside,
    }
'''

# The App API (0.1.46 and ours). COMPAT_GEN 1 has one more secret key, so the redeploy's secret has a new name.
# The entry agent is also an hmac endpoint and has a one-shot schedule at COMPAT_AT (the same moment in both deploys,
# so the redeploy keeps it) that calls the tool: a firing calls no model, so it takes no reply another test scripted.
APP_FILE = (
    textwrap.dedent(
        """
    import os

    from ara_sdk import App, Secret, fastapi_endpoint, invoke, runtime

    GEN = os.environ["COMPAT_GEN"]
    values = {"API_TOKEN": os.environ["COMPAT_TOKEN"]}
    if GEN == "1":
        values["OLD_TOKEN"] = "retired"
    app = App(
        os.environ["COMPAT_SLUG"],
        runtime_profile=runtime(
            model="openai/fake-model", env={"GREETING": "gen" + GEN}, secrets=[Secret.from_dict(values)]
        ),
    )


    @app.schedule(at=[os.environ["COMPAT_AT"]], run=invoke.tool("probe", args={"word": "scheduled"}))
    @app.agent(entrypoint=True, skills=["probe"])
    @fastapi_endpoint(method="POST", label="hook", auth="hmac")
    def assistant(input: dict) -> str:
        return "Use probe, then answer: " + str(input.get("message", ""))
    """
    )
    + "\n\n@app.tool()"
    + PROBE
)

# The Job API (0.1.58): the secret comes from the deploying shell's environment (``required_env``). 0.1.58 cannot
# declare an endpoint (its ``fastapi_endpoint``, ``schedule`` and ``invoke`` raise "no longer supported") and a Job
# has no schedule of its own (its CLI's ``deploy --cron``/``--every-seconds`` recur, so a New Year cron is only seen
# planned): the one-shot is declared with the ``schedule`` method of the app the Job builds (``job.app``), as the App
# API's ``at=[...]``.
JOB_FILE = (
    textwrap.dedent(
        """
    import os

    import ara_sdk as ara

    job = ara.Job(
        os.environ["COMPAT_SLUG"],
        system_instructions="Use probe, then answer.",
        skills=["probe"],
        required_env=["API_TOKEN"] + (["OLD_TOKEN"] if os.environ["COMPAT_GEN"] == "1" else []),
    )
    ONE_SHOT = {"type": "tool", "tool_name": "probe", "args": {"word": "scheduled"}}  # ``invoke`` is gone
    """
    )
    + '\n\n@job.app.schedule(at=[os.environ["COMPAT_AT"]], run=ONE_SHOT)\n@ara.tool'
    + PROBE
)

#: (client, command) -> what the command sent, for the comparison of ours with 0.1.46.
SHAPES: dict[tuple[str, str], list[tuple[Any, ...]]] = {}


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class World:
    url: str
    settings: Settings
    model: FakeLLM
    watch: HttpWatch
    receiver: Receiver
    users: dict[str, RuntimeUser]

    def count_runs(self, app_id: str, trigger: str) -> int:
        engine = create_engine(self.settings.database_url)
        try:
            with engine.connect() as connection:
                query = select(func.count()).select_from(AppRun).where(AppRun.app_id == app_id)
                return int(connection.execute(query.where(AppRun.trigger == trigger)).scalar_one())
        finally:
            engine.dispose()

    def rows(self, *columns: Any, where: Any) -> list[Any]:
        engine = create_engine(self.settings.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(select(*columns).where(where)))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("sdk-apps"), apps={"webhook_allow_private": True})
    users = seed_runtime_users(settings, *(f"{name}@example.org" for name in CLIENTS))
    watches: list[HttpWatch] = []

    def watch(asgi: Any) -> HttpWatch:
        watches.append(HttpWatch(asgi))
        return watches[0]

    with (
        fake_llm(default=text("done")) as model,
        webhook_receiver() as receiver,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("OPENAI_BASE_URL", model.url)  # the server's model: scripted, on 127.0.0.1
        patch.setenv("OPENAI_API_KEY", "sk-test-key")
        with running_server(settings, wrap=watch) as url:
            yield World(url, settings, model, watches[0], receiver, users)


@dataclass
class Client:
    """One client: its ``ara`` (a process for the real SDK, in-process for ours), HOME, user key and app file."""

    name: str
    venv: SdkVenv | None  # None: ours
    home: Path
    user: RuntimeUser
    world: World
    token: str = field(default_factory=lambda: f"tok-{uuid.uuid4().hex}")  # the app's secret value
    gen: int = 1
    app_id: str = ""
    runtime_key: str = ""  # the newest deploy's
    sync_run_id: str = ""
    webhook_secret: str = ""
    setup: dict[str, Any] = field(default_factory=dict)  # what ``ara setup`` printed
    one_shot_at: dt.datetime = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC) + ONE_SHOT_LEAD).replace(microsecond=0)
    )

    @property
    def at(self) -> str:
        """The one-shot's moment as the app file gives it."""
        return self.one_shot_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def deploy_flags(self) -> tuple[str, ...]:
        """0.1.58's ``deploy --cron``: the schedule its CLI offers (it recurs, so it is only seen planned)."""
        return ("--cron", CLI_CRON) if self.version == "0.1.58" else ()

    @property
    def one_shot_row(self) -> Any:
        """The one-shot's ``app_schedules`` row: named after the function ``schedule`` decorates."""
        name = "probe" if self.version == "0.1.58" else "assistant"
        return (AppSchedule.app_id == self.app_id) & (AppSchedule.schedule_id == name)

    @property
    def cli_row(self) -> Any:
        return (AppSchedule.app_id == self.app_id) & (AppSchedule.schedule_id == "cli-managed-schedule")

    @property
    def version(self) -> str:
        return self.venv.version if self.venv else "ours"

    def own_values(self) -> list[tuple[str, str]]:
        """What differs between clients by design, longest first (the slug is inside the key names)."""
        at = self.one_shot_at
        cron = f"{at.minute} {at.hour} {at.day} {at.month} *"  # how the SDK spells an ISO ``at`` as a cron
        values = [(self.token, "<token>"), (self.webhook_secret, "<webhook-secret>"), (self.slug, "<slug>")]
        values += [(self.at, "<one-shot-at>"), (cron, "<one-shot-cron>")]
        return [(value, placeholder) for value, placeholder in values if value]

    @property
    def slug(self) -> str:
        return {"sdk-0.1.46": "compat-46", "sdk-0.1.58": "compat-58", "ours": "compat-ours"}[self.name]

    @property
    def script(self) -> Path:
        return self.home / "app.py"

    def write_app(self) -> None:
        self.script.write_text(JOB_FILE if self.version == "0.1.58" else APP_FILE)

    def environ(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARA_", "OPENAI_", "COMPAT_"))}
        env |= {
            "HOME": str(self.home),
            "ARA_API_BASE_URL": self.world.url,
            "ARA_API_KEY": self.user.key,
            "COMPAT_SLUG": self.slug,
            "COMPAT_GEN": str(self.gen),
            "COMPAT_TOKEN": self.token,
            "COMPAT_AT": self.at,
            "API_TOKEN": self.token,  # 0.1.58 reads required_env from the deploying shell
        }
        if self.gen == 1:
            env["OLD_TOKEN"] = "retired"
        if self.version == "0.1.46" and self.runtime_key:
            env["ARA_RUNTIME_KEY"] = self.runtime_key  # 0.1.46 never remembers the key deploy printed
        env |= extra
        return self.venv.environ(env) if self.venv else env

    def ara(self, *argv: str, label: str = "", **extra: str) -> Ran:
        """Runs ``ara ARGV`` (``app.py`` after the command); ``label`` keeps what it sent for the comparison."""
        mark = self.world.watch.mark()
        if self.venv is None:
            # CliRunner changes this process's environment, the in-process server's too: OPENAI_* stay set
            env: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("ARA_", "COMPAT_"))}
            env |= {k: v for k, v in self.environ(**extra).items() if not k.startswith("OPENAI_")}
            result = CliRunner().invoke(cli, list(argv), env=env, catch_exceptions=False)
            ran = Ran(result.exit_code, result.stdout, result.stderr)
        else:
            done = subprocess.run(
                [str(self.venv.ara), *argv],
                env=self.environ(**extra),
                cwd=self.home,
                capture_output=True,
                text=True,
                timeout=120,
            )
            ran = Ran(done.returncode, done.stdout, done.stderr)
        if label:
            SHAPES[(self.name, label)] = [shape(e, self) for e in self.world.watch.since(mark)]
        return ran

    def ok(self, *argv: str, label: str = "", **extra: str) -> Any:
        done = self.ara(*argv, label=label, **extra)
        assert done.exit_code == 0, (argv, done.stdout, done.stderr)
        return first_json(done.stdout)

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The control plane with the user's key, as a test sees it."""
        return httpx.request(method, self.world.url + path, headers=self.user.headers, timeout=30, **kwargs)

    def status(self, run_id: str, label: str = "") -> dict[str, Any]:
        return self.ok("run-status", str(self.script), "--run-id", run_id, label=label)  # type: ignore[no-any-return]

    def wait_ended(self, run_id: str, label: str = "") -> dict[str, Any]:
        """``ara run-status`` once the run has ended (watched in the database: no process per poll)."""
        deadline = time.monotonic() + WAIT
        while not self.world.rows(AppRun.id, where=(AppRun.run_id == run_id) & (AppRun.end_time.is_not(None))):
            assert time.monotonic() < deadline, f"run {run_id} did not end"
            time.sleep(0.1)
        return self.status(run_id, label=label)


def first_json(stdout: str) -> Any:
    """The first JSON value printed (0.1.58's ``ara run`` prints log lines around it)."""
    start = min((i for i in (stdout.find("{"), stdout.find("[")) if i >= 0), default=-1)
    assert start >= 0, stdout
    value, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return value


# Values made fresh by each command (run ids, idempotency keys derived from them): equal once masked.
_FRESH = (
    (re.compile(r"run-\d{8}t\d{6}z-[0-9a-f]{8}", re.I), "<new-run-id>"),
    (re.compile(r"run-(sync|poll|hook|logs)-[0-9a-f]{8}"), "<run-id>"),
    (re.compile(r"/apps/app-[0-9a-f]+"), "/apps/<id>"),
    (re.compile(r"evt-[0-9a-f]{8}"), "<event-key>"),
)


def shape(exchange: Exchange, client: Client) -> tuple[Any, ...]:
    """A request as "the same request" means it: method, path and body with this client's own values (slug,
    secret, app id, fresh run ids) masked, the headers that carry meaning, and which credential went where."""

    def masked(text: str) -> str:
        for value, placeholder in client.own_values():
            text = text.replace(value, placeholder)
        for pattern, placeholder in _FRESH:
            text = pattern.sub(placeholder, text)
        return text

    body = json.dumps(exchange.json(), sort_keys=True) if exchange.body else ""
    auth = exchange.headers.get("authorization", "")
    who = "user" if auth == f"Bearer {client.user.key}" else "runtime-key" if auth else ""
    if exchange.headers.get("x-ara-app-key"):
        who = "header-key" + ("+authorization" if auth else "")
    idem = masked(exchange.headers.get("x-idempotency-key", ""))
    return (exchange.method, masked(exchange.path), masked(body), who, idem)


def status_of(answer: Any) -> str:
    run = answer.get("run") if isinstance(answer.get("run"), dict) else answer
    return str(run.get("status") or "")


def run_id_of(answer: Any) -> str:
    run = answer.get("run") if isinstance(answer.get("run"), dict) else answer
    return str(run.get("run_id") or "")


def stored_manifest(answer: dict[str, Any]) -> dict[str, Any]:
    """``GET /apps/{id}``: the manifest fields at the top level, under ``app``, or under ``(app.)manifest``."""
    for candidate in (answer.get("manifest"), (answer.get("app") or {}).get("manifest"), answer.get("app"), answer):
        if isinstance(candidate, dict) and "agent" in candidate:
            return {k: candidate.get(k) for k in ("name", "description", "agent", "workflows", "interfaces")} | {
                "runtime_profile": candidate.get("runtime_profile")
            }
    raise AssertionError(f"no manifest in {answer}")


def tool_results(model: FakeLLM) -> list[dict[str, Any]]:
    """Every ``role: tool`` message the model was sent, decoded."""
    found = []
    for seen in model.requests:
        for message in seen.messages:
            if message.get("role") == "tool":
                found.append(json.loads(message["content"]))
    return found


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest, world: World, tmp_path_factory: pytest.TempPathFactory) -> Client:
    name = request.param
    venv = ensure_sdk_venv(name.removeprefix("sdk-")) if name.startswith("sdk-") else None
    made = Client(name, venv, tmp_path_factory.mktemp(name), world.users[f"{name}@example.org"], world)
    made.write_app()
    return made


def only_app_commands(client: Client) -> None:
    if client.version == "0.1.58":
        pytest.skip("ara-sdk 0.1.58's CLI has only deploy, run and logs")


def test_deploy_stores_what_the_sdk_sent(client: Client) -> None:
    mark = client.world.watch.mark()
    out = client.ok("deploy", str(client.script), *client.deploy_flags, label="deploy-new")
    assert out["ok"] is True and out["slug"] == client.slug and out["runtime_key"]
    sent = [e for e in client.world.watch.since(mark) if (e.method, e.path) == ("POST", "/apps")]
    assert len(sent) == 1 and sent[0].status in (200, 201), sent
    body = sent[0].json()
    created = sent[0].answer_json()
    client.app_id = str((created.get("app") or created)["id"])
    client.runtime_key = out["runtime_key"]
    got = client.api("GET", f"/apps/{client.app_id}")
    assert got.status_code == 200, got.text
    assert stored_manifest(got.json()) == {k: v for k, v in body.items() if k != "slug"}
    assert client.token not in json.dumps(body)  # only the secret's name travels with the manifest
    names = [row["name"] for row in client.api("GET", f"/apps/{client.app_id}/secrets").json()["secrets"]]
    assert len(names) == 1 and names == [ref["name"] for ref in body["runtime_profile"]["secret_refs"]]
    one_shot_planned(client)


def one_shot_planned(client: Client) -> None:
    """After a deploy: the one-shot is planned at its moment, or has fired at it. A deploy that answered after the
    moment (a loaded machine) could not plan it (a past one-shot is never fired): the next deploy sets a new one."""
    answered = dt.datetime.now(dt.UTC)
    [(planned, fired)] = client.world.rows(
        AppSchedule.next_fire_at, AppSchedule.last_fired_at, where=client.one_shot_row
    )
    if planned is None and fired is None and answered >= client.one_shot_at:
        client.one_shot_at = (answered + ONE_SHOT_LEAD).replace(microsecond=0)
        return
    assert client.one_shot_at in (planned, fired), (client.at, planned, fired)


def test_redeploy_updates_mints_a_new_key_and_drops_the_stale_secret(client: Client) -> None:
    before = {row["name"] for row in client.api("GET", f"/apps/{client.app_id}/secrets").json()["secrets"]}
    client.gen = 2
    client.world.model.reset()
    mark = client.world.watch.mark()
    # ``up``: deploy's alias
    out = client.ok("up", str(client.script), "--warm", "true", *client.deploy_flags, label="deploy-existing")
    one_shot_planned(client)  # kept (the same moment), unless the first deploy was too late for it
    exchanges = client.world.watch.since(mark)
    assert out["warmup_run_id"] and client.world.model.requests == []  # a warm-up prepares, calls no model
    assert not [e for e in exchanges if (e.method, e.path) == ("POST", "/apps")]
    patches = [e for e in exchanges if e.method == "PATCH"]
    assert len(patches) == 1 and patches[0].path == f"/apps/{client.app_id}" and patches[0].status == 200
    sent = patches[0].json()
    assert sent.pop("status") == "active"
    assert stored_manifest(client.api("GET", f"/apps/{client.app_id}").json()) == sent
    if client.version != "0.1.58":  # a Job has no runtime env
        assert sent["runtime_profile"]["env"] == {"GREETING": "gen2"}
    assert out["runtime_key"] and out["runtime_key"] != client.runtime_key
    client.runtime_key = out["runtime_key"]
    after = {row["name"] for row in client.api("GET", f"/apps/{client.app_id}/secrets").json()["secrets"]}
    assert after == {ref["name"] for ref in sent["runtime_profile"]["secret_refs"]} and not before & after
    deleted = [e for e in exchanges if e.method == "DELETE"]
    assert [e.path for e in deleted] == [f"/apps/{client.app_id}/secrets/{name}" for name in before]


def test_run_calls_the_app_tool_in_the_sandbox_with_the_env_and_secret(client: Client) -> None:
    world = client.world
    world.model.reset().script(call("probe", {"word": client.name}), text(f"final answer for {client.name}"))
    if client.version == "0.1.58":
        done = client.ara("run", str(client.script))  # no --message: 0.1.58 sends only run_id and its key
    else:
        run_id = f"run-sync-{uuid.uuid4().hex[:8]}"
        argv = ["run", str(client.script), "--message", "hello", "--input-json", json.dumps({"run_id": run_id})]
        done = client.ara(*argv, label="run")
    assert done.exit_code == 0, (done.stdout, done.stderr)
    answer = first_json(done.stdout)
    client.sync_run_id = run_id_of(answer)
    if client.version != "0.1.58":
        assert client.sync_run_id == run_id  # input.run_id is the run's id
    assert status_of(answer) == "completed" and f"final answer for {client.name}" in json.dumps(answer)
    if client.version == "0.1.58":  # its run streams the run's log rows to their end
        assert f"run={client.sync_run_id} event=run.completed" in done.stdout, done.stdout
    results = tool_results(world.model)
    assert len(results) == 1, results
    seen = results[0]
    assert seen["word"] == client.name
    assert seen["greeting"] == (None if client.version == "0.1.58" else "gen2")  # a Job has no runtime env
    assert seen["token_sha256"] == hashlib.sha256(client.token.encode()).hexdigest()
    assert seen["wrote_outside"] is False and not Path("/usr/ara-escape-probe").exists()
    assert seen["pid"] < 100  # its own PID namespace: bubblewrap, not a child of the server


def test_setup_auth_mints_a_header_key_and_finds_it_again(client: Client) -> None:
    only_app_commands(client)
    first = client.ok("setup-auth", str(client.script), label="setup-auth")
    assert first["app_id"] == client.app_id and first["runtime_key_present"] is True
    assert first["runtime_key_created"] is False  # the deploy's key was known (0.1.46: env; ours: saved)
    assert first["app_header_key_created"] is True and first["app_header_key"].startswith(
        first["app_header_key_prefix"]
    )
    header_key = first["app_header_key"]
    again = client.ok("setup-auth", str(client.script), ARA_APP_HEADER_KEY=header_key)
    assert again["app_header_key_created"] is False and again["app_header_key_id"] == first["app_header_key_id"]
    status = client.ok(
        "run-status", str(client.script), "--run-id", client.sync_run_id, "--app-header-key", header_key,
        label="run-status-header",
    )  # fmt: skip
    assert status_of(status) == "completed"


def test_run_async_poll_and_run_status(client: Client) -> None:
    only_app_commands(client)
    client.world.model.reset().script(text(f"polled answer for {client.name}"))
    run_id = f"run-poll-{uuid.uuid4().hex[:8]}"
    started = client.ok("run-async", str(client.script), "--message", "later", "--run-id", run_id, label="run-async")
    assert run_id_of(started) == run_id
    ended = client.wait_ended(run_id, label="run-status")
    assert status_of(ended) == "completed" and f"polled answer for {client.name}" in json.dumps(ended)


def test_run_async_webhook_is_signed(client: Client) -> None:
    only_app_commands(client)
    world = client.world
    world.model.reset().script(text(f"hooked answer for {client.name}"))
    run_id = f"run-hook-{uuid.uuid4().hex[:8]}"
    secret = client.webhook_secret = f"whsec-{uuid.uuid4().hex}"
    hook = f"/hook/{client.slug}"
    client.ok(
        "run-async", str(client.script), "--message", "call me", "--run-id", run_id, "--response-mode", "webhook",
        "--callback-url", world.receiver.url + hook, "--callback-secret", secret, label="run-async-webhook",
    )  # fmt: skip
    delivery = world.receiver.wait_for(hook, timeout=WAIT)
    assert signature_ok(secret, delivery), delivery.headers
    assert not signature_ok("wrong-secret", delivery)
    body = json.loads(delivery.body)
    assert run_id in json.dumps(body) and f"hooked answer for {client.name}" in json.dumps(body)
    assert "completed" in json.dumps(body) and secret not in delivery.body.decode()


def test_events_twice_with_one_key_start_one_run(client: Client) -> None:
    only_app_commands(client)
    key = f"evt-{uuid.uuid4().hex[:8]}"
    before = client.world.count_runs(client.app_id, "event")
    argv = ["events", str(client.script), "--message", "ping", "--input", "k=v", "--idempotency-key", key]
    first = client.ok(*argv, label="events")
    second = client.ok(*argv)
    assert run_id_of(first) and run_id_of(first) == run_id_of(second)
    assert client.world.count_runs(client.app_id, "event") == before + 1
    client.wait_ended(run_id_of(first))


@dataclass
class Tail:
    """``ara logs app.py`` running as a process; ``seen`` is every line it printed so far."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)

    def until_end_of(self, run_id: str) -> list[str]:
        """The lines of ``run_id`` up to its ``run.completed``."""
        mine: list[str] = []
        deadline = time.monotonic() + WAIT
        while not any("event=run.completed" in line for line in mine):
            assert time.monotonic() < deadline, (run_id, self.seen)
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.process.poll() is None, f"ara logs ended: {self.seen}"
                continue
            self.seen.append(line)
            if f"run={run_id} " in line:
                mine.append(line)
        return mine

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


def _ctrl_c_as_in_a_terminal() -> None:
    """The tail gets SIGINT as a terminal's Ctrl-C would deliver it, however pytest was started: a shell's
    background job (``cmd &``) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _tail(client: Client, base_url: str) -> Tail:
    if client.venv is None:
        argv = [sys.executable, "-c", "from ara.cli.main import main; main()", "logs", str(client.script)]
    else:
        argv = [str(client.venv.ara), "logs", str(client.script)]
    env = client.environ(ARA_API_BASE_URL=base_url)
    out = subprocess.PIPE
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=client.home,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    tail = Tail(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            tail.lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return tail


def _logged_run(client: Client) -> str:
    client.world.model.reset().script(text("logged answer"))
    if client.version == "0.1.58":
        return run_id_of(first_json(client.ara("run", str(client.script), "--no-stream-logs").stdout))
    run_id = f"run-logs-{uuid.uuid4().hex[:8]}"
    client.ok("run", str(client.script), "--input-json", json.dumps({"run_id": run_id}))
    return run_id


def test_logs_receive_a_runs_rows_and_its_end(client: Client) -> None:
    """Ours goes through a proxy that then drops the connection: the tail reconnects, shows the next run, and
    does not repeat the rows the server replays on reconnect."""
    mark = client.world.watch.mark()
    with tcp_proxy(int(client.world.url.rsplit(":", 1)[1])) as proxy:
        tail = _tail(client, proxy.url)
        try:
            time.sleep(0.5)  # the stream is open before the run (the server also replays the last minute)
            first = _logged_run(client)
            mine = tail.until_end_of(first)
            assert len(mine) >= 2 and "event=run.started" in "\n".join(mine), mine
            if client.venv is None:
                proxy.drop()
                second = _logged_run(client)
                assert "event=run.completed" in "\n".join(tail.until_end_of(second))
                assert sum(f"run={first} event=run.completed" in line for line in tail.seen) == 1, tail.seen
                streams = [e for e in client.world.watch.since(mark) if e.path.endswith("/logs/stream")]
                assert len(streams) == 2  # it did reconnect
        finally:
            code = tail.interrupt()
    if client.venv is None:
        assert code == 0  # Ctrl-C ends the tail quietly


def test_a_runtime_key_over_its_rpm_is_refused(client: Client) -> None:
    only_app_commands(client)
    minted = client.api("POST", f"/apps/{client.app_id}/keys", json={"name": "tight", "requests_per_minute": 2})
    assert minted.status_code in (200, 201), minted.text
    key = minted.json()["key"]
    outcomes = []
    for _ in range(5):  # 2 a minute: the third in the same minute is refused (a minute may turn in between)
        done = client.ara("run-status", str(client.script), "--run-id", client.sync_run_id, "--runtime-key", key)
        outcomes.append(done)
        if done.exit_code != 0:
            break
    refused = outcomes[-1]
    assert refused.exit_code != 0 and "429" in refused.stderr, [(o.exit_code, o.stderr[-300:]) for o in outcomes]
    assert 2 <= len(outcomes) - 1 <= 4
    if client.venv is None:
        assert refused.exit_code == 2 and refused.stderr.startswith("Error: 429 ")
        assert len(refused.stderr.strip().splitlines()) == 1


def test_setup_and_invite(client: Client) -> None:
    only_app_commands(client)
    client.setup = client.ok("setup", str(client.script), label="setup")
    assert isinstance(client.setup, dict)
    email = f"friend-{client.slug}@example.org"
    invited = client.ok("invite", str(client.script), "--email", email, "--role", "operator", label="invite")
    assert email in json.dumps(invited) and "operator" in json.dumps(invited)


def signed(secret: str, body: bytes, stamp: int) -> dict[str, str]:
    """An hmac caller's headers: ``sha256=`` HMAC-SHA256 of ``"<timestamp>." + raw body`` keyed by the secret."""
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Ara-Timestamp": str(stamp), "X-Ara-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def test_the_hmac_endpoint_admits_a_good_signature_only(client: Client) -> None:
    """The secret is the one ``ara setup`` printed; a refused call starts no run."""
    if client.version == "0.1.58":
        pytest.skip("ara-sdk 0.1.58 cannot declare an endpoint (fastapi_endpoint raises 'no longer supported')")
    world = client.world
    setup = client.setup or client.ok("setup", str(client.script))
    [hook] = [row for row in setup["endpoints"] if row["label"] == "hook"]
    assert hook["auth"] == "hmac" and hook["method"] == "POST" and hook["secret"], hook
    url = f"{world.url}/v1/apps/{client.app_id}/endpoints/hook"
    assert hook["url"] == url
    secret = hook["secret"]
    body = json.dumps({"message": f"hooked by {client.name}", "ticket": 7}).encode()
    now = int(time.time())
    before = world.count_runs(client.app_id, "endpoint")
    refused = {
        "stale": signed(secret, body, now - 400),
        "missing": {"X-Ara-Timestamp": str(now), "Content-Type": "application/json"},
        "wrong": signed("not-the-secret", body, now),
        "other body": signed(secret, b'{"ticket": 8}', now),
    }
    for what, headers in refused.items():
        answer = httpx.post(url, content=body, headers=headers, timeout=30)
        assert answer.status_code == 401, (what, answer.status_code, answer.text)
        assert "X-Ara-Signature" in answer.json()["error"]["message"] and secret not in answer.text
        assert answer.headers["www-authenticate"].startswith("Ara-HMAC-SHA256 ")
    wrong_method = httpx.get(url, headers=signed(secret, b"", now), timeout=30)
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST", wrong_method.text
    assert world.count_runs(client.app_id, "endpoint") == before  # no refusal started a run

    world.model.reset().script(text(f"endpoint answer for {client.name}"))
    answer = httpx.post(url, content=body, headers=signed(secret, body, int(time.time())), timeout=WAIT + 30)
    assert answer.status_code == 200, answer.text
    assert status_of(answer.json()) == "completed" and f"endpoint answer for {client.name}" in answer.text
    assert world.count_runs(client.app_id, "endpoint") == before + 1
    [seen] = world.model.requests
    assert f"hooked by {client.name}" in json.dumps(seen.messages)  # the body became the agent's input


def test_the_secret_is_in_no_answer_log_row_or_record(client: Client) -> None:
    world = client.world
    answers = [bytes(e.answer).decode("utf-8", "replace") for e in world.watch.exchanges]
    assert answers and not [a for a in answers if client.token in a]
    assert not [d for d in world.receiver.deliveries if client.token.encode() in d.body]
    rows = world.rows(AppLogLine.message, AppLogLine.event_type, where=AppLogLine.app_id == client.app_id)
    assert rows and not [r for r in rows if client.token in json.dumps(list(r))]
    playbooks = [r[0] for r in world.rows(AppRun.playbook_id, where=AppRun.app_id == client.app_id) if r[0] is not None]
    assert playbooks
    for playbook_id in playbooks:
        for path in (f"/api/v1/playbooks/{playbook_id}", f"/api/v1/results?playbook={playbook_id}&limit=1000"):
            answer = client.api("GET", path)
            assert answer.status_code == 200, answer.text
            assert client.token not in answer.text
        for result in client.api("GET", f"/api/v1/results?playbook={playbook_id}&limit=1000").json()["results"]:
            detail = client.api("GET", f"/api/v1/results/{result['id']}")
            assert detail.status_code == 200 and client.token not in detail.text


def test_our_python_client_on_the_same_app(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """``AraClient`` as a script uses it: the key ``ara deploy`` saved, refusals as ``AraApiError``, live rows."""
    if client.version != "ours":
        pytest.skip("our AraClient")
    for name, value in client.environ().items():
        if name.startswith(("ARA_", "COMPAT_")) or name == "HOME":
            monkeypatch.setenv(name, value)
    with AraClient.from_env(manifest=load_app(client.script).manifest, cwd=str(client.home)) as sdk:
        assert status_of(sdk.run_status(run_id=client.sync_run_id)) == "completed"
        with pytest.raises(AraApiError) as refused:
            sdk.run_status(run_id="no-such-run")
        assert refused.value.status == 404 and isinstance(refused.value, RuntimeError)
        rows = list(itertools.islice(sdk.logs(), 3))  # the last minute is replayed first
        assert len(rows) == 3 and all({"run_id", "event_type", "message"} <= set(row) for row in rows)
    monkeypatch.delenv("ARA_API_KEY")
    monkeypatch.setenv("HOME", str(client.home / "nobody"))
    with pytest.raises(CredentialsError):
        AraClient.from_env(manifest={"slug": client.slug}, cwd=str(client.home))


def test_ours_sends_what_0146_sends_and_fails_in_one_line(client: Client, tmp_path: Path) -> None:
    if client.version != "ours":
        pytest.skip("ours, compared with 0.1.46")
    labels = sorted({label for (name, label) in SHAPES if name == "sdk-0.1.46"})
    if not labels:
        pytest.skip("0.1.46 did not run in this session")
    assert len(labels) == 11, labels  # every command of the flow, both deploys, both keys
    for label in labels:
        assert SHAPES[("ours", label)] == SHAPES[("sdk-0.1.46", label)], label
    method, path, body = SHAPES[("ours", "deploy-new")][1][:3]  # bodies are compared whole, not only their keys
    assert (method, path) == ("POST", "/apps") and '"slug": "<slug>"' in body and '"source": "def probe(' in body

    stranger = tmp_path / "other.py"
    stranger.write_text(APP_FILE)
    refusals = {
        "not deployed": client.ara("run", str(stranger), COMPAT_SLUG="never-deployed"),
        "no file": client.ara("deploy", str(tmp_path / "missing.py")),
        "no App": client.ara("deploy", str(_write(tmp_path / "empty.py", "x = 1\n"))),
        "broken file": client.ara("setup", str(_write(tmp_path / "broken.py", "import os\nraise ValueError('bad')\n"))),
        "bad input": client.ara("run", str(client.script), "--input", "no-equals-sign"),
        "bad json": client.ara("run", str(client.script), "--input-json", "[1]"),
        "webhook without url": client.ara("run-async", str(client.script), "--response-mode", "webhook"),
        "exists": client.ara("deploy", str(client.script), "--on-existing", "error"),
        "unknown run": client.ara("run-status", str(client.script), "--run-id", "no-such-run"),
    }
    for what, done in refusals.items():
        assert done.exit_code == 2, (what, done)
        assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1, (what, done.stderr)
        assert "Traceback" not in done.stderr
    assert "App 'never-deployed' not found. Deploy first." in refusals["not deployed"].stderr
    assert "broken.py:2: ValueError: bad" in refusals["broken file"].stderr
    assert f"Project '{client.slug}' already exists" in refusals["exists"].stderr
    assert refusals["unknown run"].stderr.startswith("Error: 404 ")
    # ``ara run`` still holds the playbook-run commands; an app file goes to the app's agent
    assert client.ara("run", "--help").exit_code == 0 and "start" in client.ara("run", "--help").stdout
    assert "--message" in client.ara("run", str(client.script), "--help").stdout


def _write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


def test_the_one_shot_schedule_fires_once(client: Client) -> None:
    """Its firing (a tool run: ``probe`` in the sandbox) came while the tests above ran (this one is last, so that
    little is left to wait); a few seconds more bring no second one, and the schedule is spent."""
    world = client.world
    is_schedule = (AppRun.app_id == client.app_id) & (AppRun.trigger == "schedule")
    deadline = time.monotonic() + (client.one_shot_at - dt.datetime.now(dt.UTC)).total_seconds() + WAIT
    while not (fired := world.rows(AppRun.created_at, where=is_schedule & AppRun.end_time.is_not(None))):
        assert time.monotonic() < deadline, f"the one-shot at {client.at} did not fire"
        time.sleep(0.2)
    quiet = fired[0][0] + dt.timedelta(seconds=3) - dt.datetime.now(dt.UTC)
    time.sleep(max(0.0, quiet.total_seconds()))  # the clock ticks every second: 3 s past the firing is enough
    runs = world.rows(AppRun.agent_id, AppRun.status, AppRun.input, AppRun.output, where=is_schedule)
    assert len(runs) == 1, runs
    agent_id, status, run_input, output = runs[0]
    entry = "assistant" if client.version != "0.1.58" else client.slug
    assert (agent_id, status) == (entry, "completed"), runs
    assert run_input["fire_time"].startswith(client.at.removesuffix("Z")), run_input
    result = json.loads(output["output_text"])  # what the tool returned, from inside the sandbox
    assert result["word"] == "scheduled" and result["pid"] < 100, result
    [row] = world.rows(AppSchedule.enabled, AppSchedule.next_fire_at, where=client.one_shot_row)
    assert tuple(row) == (False, None)
    if client.version == "0.1.58":  # its ``deploy --cron``: kept by the redeploy, next New Year
        [cli] = world.rows(AppSchedule.cron, AppSchedule.enabled, AppSchedule.next_fire_at, where=client.cli_row)
        assert tuple(cli) == (CLI_CRON, True, dt.datetime(dt.datetime.now(dt.UTC).year + 1, 1, 1, tzinfo=dt.UTC))
