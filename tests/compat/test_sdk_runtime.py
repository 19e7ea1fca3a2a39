"""The real ``ara-sdk`` (0.1.46 and 0.1.58 from PyPI) and our ``ara_sdk`` + CLI, unchanged, against a real
``ara server`` on 127.0.0.1: one scenario, three clients.

Each client has its own user (key from ``ara token create``) and HOME: ``ara auth login --api-key``, ``whoami``,
``start``, ``status``, every builtin file tool and ``exec`` through ``ara runtime tools execute``, the escapes
refused, the Python ``AraRuntimeClient`` on the same session, 0.1.58's ``session exec``/``files``/``keepalive``
(0.1.58 and ours), then ``stop``. The real CLIs print a traceback and exit 1 on any refusal; ours prints one line
and exits 2, which the last test checks.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ara.cli.main import app
from ara.settings import Settings, get_settings
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, call, failure, fake_llm, text
from tests.support.runtime_users import seed_runtime_users
from tests.support.sdk_venv import SdkVenv, ensure_sdk_venv
from tests.support.server import running_server

pytestmark = pytest.mark.compat

CLIENTS = ("sdk-0.1.46", "sdk-0.1.58", "ours")
STRANGER = "stranger@example.org"
TEXT = "print('hello')\nzweite Zeile ü €\n"


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Server:
    url: str
    settings: Settings
    model: FakeLLM
    stranger_session: str  # another user's running session: every client must get 404 for it

    def workspace(self, session_id: str) -> Path:
        return self.settings.sessions_dir / session_id / "workspace"

    def token_create(self, email: str) -> str:
        """``ara token create --user EMAIL --name laptop``: the key README tells the user to export."""
        env = {"ARA_BASE_DIR": str(self.settings.base_dir), "ARA_DATABASE__URL": self.settings.database_url}
        get_settings.cache_clear()  # admin commands read the environment once per process
        try:
            done = CliRunner().invoke(app, ["token", "create", "--user", email, "--name", "laptop"], env=env)
        finally:
            get_settings.cache_clear()
        assert done.exit_code == 0, done.output
        return done.stdout.splitlines()[0].strip()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = make_settings(tmp_path_factory.mktemp("sdk-runtime"))
    users = seed_runtime_users(settings, *(f"{name}@example.org" for name in CLIENTS), STRANGER)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch, running_server(settings) as url:
        patch.setenv("OPENAI_BASE_URL", model.url)  # the server's model: scripted, on 127.0.0.1
        patch.setenv("OPENAI_API_KEY", "sk-test-key")
        started = httpx.post(f"{url}/session/start", json={}, headers=users[STRANGER].headers, timeout=60)
        assert started.status_code == 200, started.text
        yield Server(url, settings, model, started.json()["session_id"])


@dataclass
class Client:
    """One client's way to run ``ara`` and Python, with its own HOME and the server in the environment."""

    name: str
    venv: SdkVenv | None  # None: ours
    home: Path
    email: str
    key: str
    base_url: str
    session_id: str = ""

    @property
    def version(self) -> str:
        return self.venv.version if self.venv else "ours"

    def environ(self, *, with_key: bool = True) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARA_", "OPENAI_"))}
        env |= {"HOME": str(self.home), "ARA_API_BASE_URL": self.base_url}
        if with_key:
            env["ARA_API_KEY"] = self.key
        # ours runs from this tree (PYTHONPATH kept); the real SDK's venv must never see it
        return self.venv.environ(env) if self.venv else env

    def ara(self, *argv: str, with_key: bool = True) -> Ran:
        """The real SDK's ``ara`` as a process; ours in this process (CliRunner: the same code, no start-up cost)."""
        if self.venv is None:
            env = {key: None for key in os.environ if key.startswith(("ARA_", "OPENAI_"))}
            env |= {"HOME": str(self.home), "ARA_API_BASE_URL": self.base_url, "ARA_API_KEY": None}
            if with_key:
                env["ARA_API_KEY"] = self.key
            result = CliRunner().invoke(app, list(argv), env=env, catch_exceptions=False)
            return Ran(result.exit_code, result.stdout, result.stderr)
        done = subprocess.run(
            [str(self.venv.ara), *argv],
            env=self.environ(with_key=with_key),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def ok(self, *argv: str, with_key: bool = True) -> Any:
        done = self.ara(*argv, with_key=with_key)
        assert done.exit_code == 0, (argv, done.stdout, done.stderr)
        return json.loads(done.stdout)

    def session(self, command: str) -> Any:
        """``ara start`` (0.1.46, ours) or ``ara runtime session start`` (0.1.58 has no top-level alias)."""
        argv = ["runtime", "session", command] if self.version == "0.1.58" else [command]
        return self.ok(*argv)

    def tool(self, tool: str, **args: str) -> dict[str, Any]:
        pairs = [part for key, value in args.items() for part in ("--arg", f"{key}={value}")]
        answer = self.ok("runtime", "tools", "execute", "--session", self.session_id, "--tool", tool, *pairs)
        assert isinstance(answer, dict)
        return answer

    def python(self, code: str, *argv: str) -> Any:
        """Runs ``code`` with the client's interpreter (the venv's, or ours with this tree); its stdout as JSON."""
        python = str(self.venv.python) if self.venv else sys.executable
        done = subprocess.run(
            [python, "-c", textwrap.dedent(code), *argv],
            env=self.environ(),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Client:
    name = request.param
    venv = ensure_sdk_venv(name.removeprefix("sdk-")) if name.startswith("sdk-") else None
    email = f"{name}@example.org"
    return Client(name, venv, tmp_path_factory.mktemp(name), email, server.token_create(email), server.url)


def test_the_real_sdk_is_the_one_installed(client: Client) -> None:
    """The venv runs PyPI's ara_sdk and cannot see our tree (both are ``ara_sdk``, both CLIs ``ara``)."""
    code = (
        "import json, ara_sdk, importlib.metadata as m, importlib.util as u; "
        "print(json.dumps([ara_sdk.__file__, m.version('ara-sdk'), u.find_spec('ara') is None]))"
    )
    if client.venv is None:
        code = "import json, ara_sdk, ara; print(json.dumps([ara_sdk.__file__, ara.__file__, False]))"
    where, what, no_ara = client.python(code)
    if client.venv is not None:
        assert where.startswith(str(client.venv.path)) and what == client.version and no_ara
    else:
        assert Path(where).parent.parent == Path(what).parent.parent  # our ara_sdk beside our ara


def test_login_stores_the_key_and_whoami_names_the_user(client: Client) -> None:
    logged = client.ok("auth", "login", "--api-key", client.key, with_key=False)
    assert logged["status"] == "logged_in" and logged["user"]["email"] == client.email
    path = client.home / ".ara" / "credentials.json"
    stored = json.loads(path.read_text())
    assert stored["auth_type"] == "cli_api_key" and stored["api_key"] == client.key
    assert stored["api_base_url"] == client.base_url
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    from_file = client.ok("auth", "whoami", with_key=False)
    assert (from_file["user"]["email"], from_file["auth_source"]) == (client.email, "cli_api_key")
    assert client.ok("auth", "whoami")["auth_source"] == "env"


def test_start_status_and_every_builtin_tool_through_the_cli(client: Client, server: Server) -> None:
    started = client.session("start")
    client.session_id = started["session_id"]
    assert client.session_id.startswith("sess-") and started["status"] == "running"
    assert client.session("start")["session_id"] == client.session_id  # idempotent
    assert client.session("status")["status"] == "running"
    spellings = [["runtime", "session", "status"]] + ([["session", "status"]] if client.version != "0.1.58" else [])
    for argv in spellings:  # 0.1.46's ``ara session …`` alias; 0.1.58 kept only ``runtime session``
        assert client.ok(*argv)["session_id"] == client.session_id
    workspace = server.workspace(client.session_id)

    assert client.tool("write_file", path="hello.py", content=TEXT)["ok"]
    assert (workspace / "hello.py").read_bytes() == TEXT.encode()
    assert client.tool("read_file", path="hello.py")["output"]["content"] == TEXT
    assert client.tool("edit_file", path="hello.py", old_string="hello", new_string="bye")["ok"]
    assert (workspace / "hello.py").read_text().startswith("print('bye')")
    assert "hello.py" in {e["name"] for e in client.tool("list_dir", path=".")["output"]["entries"]}
    assert "hello.py" in json.dumps(client.tool("glob", pattern="*.py")["output"])
    assert "bye" in json.dumps(client.tool("search_files", pattern="bye")["output"])
    ran = client.tool("exec", command="echo hello")
    assert ran["ok"] and ran["output"]["stdout"] == "hello\n"
    assert client.tool("delete_file", path="hello.py")["ok"] and not (workspace / "hello.py").exists()
    assert client.tool("exec", command="ln -s / to-root")["ok"]  # a link the agent made, leading out
    for escape in ("../../etc/passwd", "/etc/passwd", "to-root/etc/passwd"):
        refused = client.tool("read_file", path=escape)
        assert refused["ok"] is False and refused["error"], refused
        assert "root:" not in json.dumps(refused)
    outside = server.settings.base_dir / f"escaped-{client.name}.txt"  # a host path the server itself may write
    for escape in (f"to-root{outside}", str(outside), f"../../../{outside.name}"):
        assert client.tool("write_file", path=escape, content="x")["ok"] is False
    assert not outside.exists()


def test_the_python_client_on_the_same_session(client: Client, server: Server) -> None:
    payload = "".join(chr(c) for c in range(32, 0x250)) + "\n\ttabs and \\ backslashes\n"
    answer = client.python(
        """
        import json, sys
        if sys.argv[2] == "0.1.58":  # 0.1.58 no longer exports it from the package
            from ara_sdk.core import AraRuntimeClient
        else:
            from ara_sdk import AraRuntimeClient
        c = AraRuntimeClient.from_env()
        sid = c.session_status()["session_id"]
        out = {"sid": sid}
        written = {"path": "p/y.txt", "content": sys.argv[1]}
        out["write"] = c.execute_tool(session_id=sid, tool_name="write_file", args=written)
        out["read"] = c.execute_tool(session_id=sid, tool_name="read_file", args={"path": "p/y.txt"})
        out["tools"] = sorted(t["name"] for t in c.tools(session_id=sid, kind="builtin")["tools"])
        out["caps"] = c.capabilities(session_id=sid)
        out["skills"] = c.skills(session_id=sid)
        for name, call in (("unknown", lambda: c.execute_tool(session_id=sid, tool_name="nope", args={})),
                           ("stranger", lambda: c.execute_tool(session_id=sys.argv[3], tool_name="write_file",
                                                               args={"path": "x.txt", "content": "not yours"}))):
            try:
                call()
                out[name] = "no error"
            except RuntimeError as exc:
                out[name] = [type(exc).__name__, str(exc), getattr(exc, "status", None)]
        print(json.dumps(out))
        """,
        payload,
        client.version,
        server.stranger_session,
    )
    assert answer["sid"] == client.session_id
    assert answer["write"]["ok"] and answer["read"]["output"]["content"] == payload
    assert (server.workspace(client.session_id) / "p" / "y.txt").read_bytes() == payload.encode()
    assert {"read_file", "write_file", "edit_file", "list_dir", "exec", "glob", "search_files"} <= set(answer["tools"])
    assert "skills" in answer["skills"] and answer["caps"]["network"] is False
    assert "(400)" in answer["unknown"][1] and "(404)" in answer["stranger"][1]
    assert not (server.workspace(server.stranger_session) / "x.txt").exists()
    if client.venv is None:  # ours says why, and keeps the status
        assert answer["unknown"][0] == "AraApiError" and answer["unknown"][2] == 400 and "nope" in answer["unknown"][1]
        assert answer["stranger"][2] == 404


CHAT = """
import json, sys
if sys.argv[1] == "0.1.58":  # 0.1.58 no longer exports it from the package
    from ara_sdk.core import AraRuntimeClient
else:
    from ara_sdk import AraRuntimeClient
c = AraRuntimeClient.from_env()
out = [c.chat(message="Create hello.py", model="openai/fake-model")]
out.append(c.chat(message="Remember that my name is Ada and I like tea"))
try:
    c.chat(message="again")
    out.append("no error")
except RuntimeError as exc:
    out.append([type(exc).__name__, str(exc)])
print(json.dumps(out))
"""


def test_chat_runs_the_tool_loop_in_the_session(client: Client, server: Server) -> None:
    """Seed 002: ``chat`` makes the model's ``write_file`` call in the session and answers ``{text, tool_calls}``;
    the memory example leaves ``USER.md``; a model failure raises with its message (never the model's key)."""
    memory = "# User\n- Name: Ada\n- Likes: tea\n"
    server.model.reset().script(
        call("write_file", {"path": "hello.py", "content": "print('hello')\n"}),
        text("Created hello.py."),
        call("write_file", {"path": "/root/.ara/memory/USER.md", "content": memory}),
        text("Nice to meet you, Ada."),
        failure(500, "the model is down"),
    )
    created, remembered, failed = client.python(CHAT, client.version)
    assert created["text"] == "Created hello.py."
    assert [(c["name"], c["args"]) for c in created["tool_calls"]] == [
        ("write_file", {"path": "hello.py", "content": "print('hello')\n"})
    ]
    assert created["tool_calls"][0]["result"]  # the tool's output came back through the stream
    session = server.settings.sessions_dir / client.session_id
    assert (session / "workspace" / "hello.py").read_text() == "print('hello')\n"
    assert remembered["text"] == "Nice to meet you, Ada." and (session / "memory" / "USER.md").read_text() == memory
    assert server.model.requests[0].body["model"] == "fake-model"
    kind, message = failed
    assert "sk-test-key" not in message and message
    if client.venv is None:
        assert kind == "AgentError"


def test_0158_exec_files_upload_download_and_keepalive(client: Client, server: Server) -> None:
    if client.version == "0.1.46":
        pytest.skip("0.1.46 has no session exec, files or keepalive")
    ran = client.ok("runtime", "session", "exec", "--command", "echo hi > t.txt && cat t.txt")
    assert ran["ok"] and ran["stdout"] == "hi\n"
    workspace = server.workspace(client.session_id)
    assert (workspace / "t.txt").read_text() == "hi\n"
    assert client.ok("runtime", "files", "write", "--path", "notes/n.md", "--content", TEXT)
    assert (workspace / "notes" / "n.md").read_text() == TEXT
    assert client.ok("runtime", "files", "read", "--path", "notes/n.md")["content"] == TEXT
    listed = client.ok("runtime", "files", "list", "--path", "notes")
    assert [e["path"] for e in listed["entries"]] == ["/root/.ara/workspace/notes/n.md"]
    blob = bytes(range(256)) * 40
    (client.home / "local.bin").write_bytes(blob)
    sent = client.ok("runtime", "files", "upload", "--local", str(client.home / "local.bin"), "--path", "up/b.bin")
    assert sent["bytes"] == len(blob) and (workspace / "up" / "b.bin").read_bytes() == blob
    got = client.ok("runtime", "files", "download", "--path", "up/b.bin", "--output", str(client.home / "back.bin"))
    assert (got["bytes"], got["filename"]) == (len(blob), "b.bin")
    assert (client.home / "back.bin").read_bytes() == blob
    beat = client.ara("runtime", "session", "keepalive", "--iterations", "1", "--interval-seconds", "1")
    assert beat.exit_code == 0, beat.stderr
    assert '"event": "summary"' in beat.stdout and '"ok": true' in beat.stdout


def test_0158_automation_commands(client: Client) -> None:
    """0.1.58's ``ara runtime automation add|list|disable|enable|runs|remove`` on the rows the engine fires."""
    if client.version != "0.1.58":
        pytest.skip("only ara-sdk 0.1.58 has automation commands")
    payload = json.dumps({"kind": "agent_turn", "message": "Summarise notes/ in digest.md"})
    added = client.ok(
        "runtime", "automation", "add", "--name", "digest", "--cron", "0 9 * * 1-5", "--timezone", "Europe/Paris",
        "--payload-json", payload,
    )  # fmt: skip
    job_id = added["job"]["id"]
    listed = client.ok("runtime", "automation", "list")["jobs"]
    assert [(j["id"], j["name"], j["enabled"]) for j in listed] == [(job_id, "digest", True)]
    assert client.ok("runtime", "automation", "disable", "--id", job_id)["job"]["enabled"] is False
    assert client.ok("runtime", "automation", "enable", "--id", job_id)["job"]["enabled"] is True
    assert client.ok("runtime", "automation", "runs", "--state", "failed")["runs"] == []
    bad = client.ara("runtime", "automation", "runs", "--state", "exploded")
    assert bad.exit_code != 0 and "(400)" in bad.stderr
    assert client.ok("runtime", "automation", "remove", "--id", job_id, "--yes")["ok"] is True
    assert client.ok("runtime", "automation", "list")["jobs"] == []


def test_stop_keeps_the_files_and_later_calls_are_refused(client: Client, server: Server) -> None:
    stopped = client.session("stop")
    assert (stopped["ok"], stopped["session_id"], stopped["status"]) == (True, client.session_id, "stopped")
    status = client.session("status")
    assert (status["status"], status["active"]) == ("stopped", False)
    assert (server.workspace(client.session_id) / "p" / "y.txt").is_file()
    refused = client.ara("runtime", "tools", "execute", "--session", client.session_id, "--tool", "list_dir")
    assert refused.exit_code != 0
    if client.venv is None:
        assert refused.exit_code == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.startswith("Error: 503 ") and len(refused.stderr.strip().splitlines()) == 1


def test_rotate_replaces_the_stored_key_and_logout_forgets_it(client: Client) -> None:
    """Last: the key the other tests used stops working here."""
    rotated = client.ok("auth", "rotate", with_key=False)
    assert rotated["status"] == "rotated" and rotated["credentials_updated"] is True
    stored = json.loads((client.home / ".ara" / "credentials.json").read_text())["api_key"]
    assert stored != client.key and stored.startswith(rotated["key_prefix"])
    assert client.ok("auth", "whoami", with_key=False)["user"]["email"] == client.email
    old = client.ara("auth", "whoami")  # ARA_API_KEY still holds the revoked key
    assert old.exit_code != 0 and "401" in old.stdout + old.stderr
    if client.venv is None:
        assert old.stderr.startswith("Error: 401 ") and old.exit_code == 2
    assert client.ok("auth", "logout", with_key=False) == {"ok": True, "status": "logged_out"}
    assert not (client.home / ".ara" / "credentials.json").exists()
