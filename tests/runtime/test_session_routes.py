"""The runtime's HTTP routes against a real server on 127.0.0.1, as two users: sessions start once per user, tools
run in the caller's own session only (another user's session id is 404), a stopped session answers 503, the
0.1.58 terminal and files routes stay inside the session, and bad bodies are 400s naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.runtime_users import ALICE, BOB, seed_runtime_users
from tests.support.server import running_server


@dataclass
class Runtime:
    url: str
    settings: Settings
    alice: httpx.Client
    bob: httpx.Client

    def workspace(self, session_id: str) -> Path:
        return self.settings.sessions_dir / session_id / "workspace"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One server for the module (SQLite: these routes touch no SQL that differs by database)."""
    settings = make_settings(tmp_path_factory.mktemp("runtime"))
    users = seed_runtime_users(settings)
    with running_server(settings) as url:
        clients = [httpx.Client(base_url=url, headers=users[who].headers, timeout=60) for who in (ALICE, BOB)]
        try:
            yield Runtime(url, settings, *clients)
        finally:
            for client in clients:
                client.close()


def started(client: httpx.Client) -> str:
    response = client.post("/session/start", json={})
    assert response.status_code == 200, response.text
    return str(response.json()["session_id"])


def call(client: httpx.Client, session_id: str, tool: str, **args: Any) -> dict[str, Any]:
    body = {"session_id": session_id, "tool_name": tool, "args": args, "agent_id": None}
    response = client.post("/session/runtime/tools/execute", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def field_error(response: httpx.Response, field: str) -> str:
    assert response.status_code == 400, response.text
    detail = response.json()["error"]["detail"]
    assert field in detail, detail
    return str(detail[field])


def test_start_is_idempotent_and_each_user_has_their_own_session(runtime: Runtime) -> None:
    first = runtime.alice.post("/session/start", content=b"")  # the SDK's body is {}, an empty body is fine too
    assert first.status_code == 200, first.text
    again = runtime.alice.post("/session/start", json={}).json()
    assert again["session_id"] == first.json()["session_id"] and again["status"] == "running" and again["active"]
    theirs = started(runtime.bob)
    assert theirs != again["session_id"]
    layout = runtime.settings.sessions_dir / theirs
    assert (layout / "workspace" / "skills").is_dir() and (layout / "memory" / "USER.md").is_file()
    status = runtime.bob.get("/session/status").json()
    assert (status["session_id"], status["status"], status["active"]) == (theirs, "running", True)


def test_every_builtin_file_and_exec_tool_runs_in_the_session(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    text = "print('hello')\nline two ü\n"
    assert call(runtime.alice, sid, "write_file", path="hello.py", content=text)["ok"]
    assert (runtime.workspace(sid) / "hello.py").read_text() == text
    assert call(runtime.alice, sid, "read_file", path="hello.py")["output"]["content"] == text
    edited = call(runtime.alice, sid, "edit_file", path="hello.py", old_string="hello", new_string="bye")
    assert edited["ok"] and "bye" in (runtime.workspace(sid) / "hello.py").read_text()
    names = [e["name"] for e in call(runtime.alice, sid, "list_dir", path=".")["output"]["entries"]]
    assert "hello.py" in names
    assert call(runtime.alice, sid, "glob", pattern="*.py")["ok"]
    assert "bye" in str(call(runtime.alice, sid, "search_files", pattern="bye")["output"])
    ran = call(runtime.alice, sid, "exec", command="echo hello")
    assert ran["ok"] and ran["output"]["stdout"].strip() == "hello" and ran["duration_ms"] > 0
    assert call(runtime.alice, sid, "delete_file", path="hello.py")["ok"]
    assert not (runtime.workspace(sid) / "hello.py").exists()
    # The web tools answer through the same route: a loopback URL and a missing provider are refused, clearly.
    fetched = call(runtime.alice, sid, "web_fetch", url=f"{runtime.url}/healthcheck")
    assert fetched["ok"] is False and "127.0.0.1" in fetched["error"]
    searched = call(runtime.alice, sid, "web_search", query="ara")
    assert searched["ok"] is False and "WEB_SEARCH_URL" in searched["error"]


def test_a_tool_refusal_is_ok_false_with_its_message(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    refused = call(runtime.alice, sid, "read_file", path="../../etc/passwd")
    assert refused["ok"] is False and "outside the session" in refused["error"] and refused["output"] is None
    assert call(runtime.alice, sid, "read_file", path="/etc/passwd")["ok"] is False


def test_another_users_session_is_404_and_the_caller_never_reaches_it(runtime: Runtime) -> None:
    alices = started(runtime.alice)
    started(runtime.bob)
    body = {"session_id": alices, "tool_name": "write_file", "args": {"path": "x.txt", "content": "bob"}}
    assert runtime.bob.post("/session/runtime/tools/execute", json=body).status_code == 404
    for path in ("/session/runtime/capabilities", "/session/runtime/skills", "/session/runtime/tools"):
        assert runtime.bob.get(path, params={"session_id": alices}).status_code == 404, path
    assert runtime.bob.get("/session/runtime/tools", params={"session_id": "sess-nothing"}).status_code == 404
    assert not (runtime.workspace(alices) / "x.txt").exists()
    # Bob's own calls land in his session, never in Alice's.
    assert runtime.bob.post("/session/files/write", json={"writes": [{"path": "b.txt", "content": "b"}]}).is_success
    assert not (runtime.workspace(alices) / "b.txt").exists()


def test_unknown_tool_bad_kind_and_bad_bodies_are_400s_naming_the_field(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    execute = "/session/runtime/tools/execute"
    assert "nope" in field_error(
        runtime.alice.post(execute, json={"session_id": sid, "tool_name": "nope"}), "tool_name"
    )
    field_error(runtime.alice.post(execute, json={"session_id": sid}), "tool_name")
    field_error(runtime.alice.post(execute, json={"session_id": sid, "tool_name": "exec", "args": "ls"}), "args")
    field_error(runtime.alice.post(execute, json={"session_id": sid, "tool_name": "exec", "colour": 1}), "colour")
    field_error(runtime.alice.post(execute, content=b"{not json"), "body")
    field_error(runtime.alice.get("/session/runtime/tools", params={"session_id": sid, "kind": "magic"}), "kind")
    field_error(runtime.alice.get("/session/runtime/tools", params={"session_id": sid, "kinds": "all"}), "kinds")
    field_error(runtime.alice.post("/session/start", json={"network": True}), "network")
    field_error(
        runtime.alice.post("/session/terminal/exec", json={"command": "ls", "timeout_seconds": 2}), "timeout_seconds"
    )
    field_error(runtime.alice.post("/session/terminal/exec", json={"command": ""}), "command")
    field_error(runtime.alice.post("/session/files/write", json={"writes": [{"path": "a"}]}), "writes.0.content")
    field_error(runtime.alice.get("/session/files/read"), "path")


def test_tools_skills_and_capabilities_describe_the_session(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    listed = runtime.alice.get("/session/runtime/tools", params={"session_id": sid, "kind": "builtin"}).json()
    names = {tool["name"] for tool in listed["tools"]}
    assert {"read_file", "write_file", "list_dir", "exec"} <= names
    assert all(tool["kind"] == "builtin" and tool["parameters"]["type"] == "object" for tool in listed["tools"])
    assert runtime.alice.get("/session/runtime/tools", params={"session_id": sid, "kind": "app"}).json()["tools"] == []

    skills = runtime.workspace(sid)
    (skills / "skills" / "deploy").mkdir(exist_ok=True)
    (skills / "skills" / "deploy" / "SKILL.md").write_text("---\nname: deploy-app\ndescription: Ship it\n---\n# X\n")
    (skills / "self-skills" / "notes").mkdir(exist_ok=True)
    (skills / "self-skills" / "notes" / "SKILL.md").write_text("Intro\n\n## Keep notes tidy\n")
    (skills / "skills" / "empty").mkdir(exist_ok=True)  # no SKILL.md: not a skill
    found = runtime.alice.get("/session/runtime/skills", params={"session_id": sid}).json()["skills"]
    assert {(s["name"], s["description"], s["source"]) for s in found} == {
        ("deploy-app", "Ship it", "skills"),
        ("notes", "Keep notes tidy", "self-skills"),
    }
    assert "/root/.ara/workspace/skills/deploy/SKILL.md" in {s["path"] for s in found}

    caps = runtime.alice.get("/session/runtime/capabilities", params={"session_id": sid, "agent_id": "a"}).json()
    assert caps["sandbox"]["backend"] in ("bwrap", "subprocess") and caps["network"] is False
    assert caps["limits"]["timeout_seconds"] == runtime.settings.runtime.exec_timeout_seconds
    assert set(caps["tools"]) >= names and caps["skills"] == 2
    assert caps["default_model"] == runtime.settings.runtime.default_model


def test_terminal_exec_runs_a_shell_line_in_the_sandbox(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    done = runtime.alice.post("/session/terminal/exec", json={"command": "echo hi > t.txt && cat t.txt; exit 3"})
    assert done.status_code == 200, done.text
    answer = done.json()
    assert (answer["ok"], answer["exit_code"], answer["stdout"]) == (False, 3, "hi\n")
    assert (runtime.workspace(sid) / "t.txt").read_text() == "hi\n"
    fine = runtime.alice.post("/session/terminal/exec", json={"command": "pwd", "timeout_seconds": 5}).json()
    assert fine["ok"] and fine["stdout"].strip() == "/root/.ara/workspace"


def test_files_routes_list_read_write_upload_and_download_inside_the_session(runtime: Runtime) -> None:
    sid = started(runtime.alice)
    client = runtime.alice
    writes = [{"path": "/root/.ara/workspace/docs/a.md", "content": "A ü"}, {"path": "b.txt", "content": "B"}]
    written = client.post("/session/files/write", json={"writes": writes, "restart": False}).json()
    assert [w["path"] for w in written["written"]] == ["/root/.ara/workspace/docs/a.md", "/root/.ara/workspace/b.txt"]
    assert (runtime.workspace(sid) / "docs" / "a.md").read_text() == "A ü"
    read = client.get("/session/files/read", params={"path": "/root/.ara/workspace/docs/a.md"}).json()
    assert read["content"] == "A ü" and read["bytes"] == len("A ü".encode())
    listed = client.get("/session/files", params={"path": "/root/.ara/workspace/docs"}).json()
    assert [(e["name"], e["path"], e["type"]) for e in listed["entries"]] == [
        ("a.md", "/root/.ara/workspace/docs/a.md", "file")
    ]
    assert "b.txt" in {e["name"] for e in client.get("/session/files").json()["entries"]}

    payload = bytes(range(256)) * 10
    multipart = {"path": (None, "/root/.ara/workspace/docs/"), "file": ("data.bin", payload)}
    uploaded = client.post("/session/files/upload", files=multipart)
    assert uploaded.json() == {"ok": True, "path": "/root/.ara/workspace/docs/data.bin", "bytes": len(payload)}
    down = client.get("/session/files/download", params={"path": "/root/.ara/workspace/docs/data.bin"})
    assert down.content == payload and 'filename="data.bin"' in down.headers["content-disposition"]
    binary = client.get("/session/files/read", params={"path": "docs/data.bin"})
    assert binary.status_code == 400 and "text" in binary.json()["error"]["message"]

    # Escapes: a parent chain, a path outside /root/.ara, a link out of the session; one bad write writes nothing.
    (runtime.workspace(sid) / "out").symlink_to("/etc")
    for path in ("../../../etc/passwd", "/etc/passwd", "out/passwd"):
        assert client.get("/session/files/read", params={"path": path}).status_code == 400, path
        assert client.get("/session/files/download", params={"path": path}).status_code == 400, path
    bad = [{"path": "fine.txt", "content": "x"}, {"path": "/etc/evil", "content": "x"}]
    assert client.post("/session/files/write", json={"writes": bad}).status_code == 400
    assert not (runtime.workspace(sid) / "fine.txt").exists()
    sneaky = client.post("/session/files/upload", files={"path": (None, "out/x"), "file": ("x", b"x")})
    assert sneaky.status_code == 400
    assert client.get("/session/files/read", params={"path": "missing.txt"}).status_code == 404


def test_a_stopped_session_answers_503_and_keeps_its_files(runtime: Runtime) -> None:
    with httpx.Client(base_url=runtime.url, auth=(ALICE, "pw"), timeout=60) as alice:  # a password works too
        sid = started(alice)
        assert call(alice, sid, "write_file", path="keep.txt", content="kept")["ok"]
        assert alice.post("/session/heartbeat", json={}).json() == {"ok": True, "session_id": sid}
        stopped = alice.post("/session/stop", json={})
        assert stopped.json() == {"ok": True, "session_id": sid, "status": "stopped"}
        assert alice.post("/session/stop", json={}).json()["status"] == "none"  # nothing running: no error
        status = alice.get("/session/status").json()
        assert (status["session_id"], status["status"], status["active"]) == (sid, "stopped", False)
        body = {"session_id": sid, "tool_name": "read_file", "args": {"path": "keep.txt"}}
        assert alice.post("/session/runtime/tools/execute", json=body).status_code == 503
        assert alice.get("/session/runtime/tools", params={"session_id": sid}).status_code == 503
        assert alice.post("/session/heartbeat", json={}).status_code == 503
        assert alice.post("/session/terminal/exec", json={"command": "true"}).status_code == 503
        assert (runtime.workspace(sid) / "keep.txt").read_text() == "kept"
        fresh = started(alice)
        assert fresh != sid and call(alice, fresh, "read_file", path="keep.txt")["ok"] is False


def test_status_before_any_session_is_none(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    users = seed_runtime_users(settings)
    with running_server(settings) as url:
        answer = httpx.get(f"{url}/session/status", headers=users[ALICE].headers).json()
    assert answer == {"ok": True, "status": "none", "active": False, "session_id": None, "session": None}
