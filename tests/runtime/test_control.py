"""The control channel against a real server: a WebSocket client (the ``websockets`` package, as a page or app
would hold one) registers actions and answers calls that ``POST /session/runtime/control/call`` forwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import make_settings
from tests.support.runtime_sessions import SessionUser, session_users
from tests.support.sdk_venv import ensure_sdk_venv
from tests.support.server import running_server
from tests.support.venvs import clean_environ

OUR_ARA = [sys.executable, "-c", "from ara.cli.main import main; main()"]
ACTIONS = [
    {"name": "set_title", "description": "Set the page title", "parameters": {"type": "object"}},
    {"name": "explode", "description": "Always fails"},
    {"name": "sleep", "description": "Never answers"},
]


class Server(NamedTuple):
    url: str
    alice: SessionUser
    bob: SessionUser
    carol: SessionUser  # a key, no session


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = make_settings(tmp_path_factory.mktemp("control"))
    users = session_users(settings, "alice@example.org", "bob@example.org", without=("carol@example.org",))
    with running_server(settings) as url:
        yield Server(url, *(users[f"{name}@example.org"] for name in ("alice", "bob", "carol")))


def ws_url(base: str, query: str) -> str:
    return base.replace("http://", "ws://") + "/session/runtime/control/ws?" + query


def answer(name: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The app's side: what it answers each action with (None: never answers)."""
    if name == "set_title":
        return {"ok": True, "result": {"title": str(args["title"]).upper()}}
    if name == "explode":
        return {"ok": False, "error": f"cannot explode {args.get('what')}"}
    return None


@contextmanager
def app_client(
    url: str, user: SessionUser, handler: Callable[[str, dict[str, Any]], dict[str, Any] | None] = answer
) -> Iterator[ClientConnection]:
    """A connected client that registered ``ACTIONS`` and answers calls from a thread until the block ends."""
    with connect(ws_url(url, f"session_id={user.session_id}"), additional_headers=user.headers) as ws:
        assert json.loads(ws.recv(timeout=10)) == {"type": "ready", "session_id": user.session_id}
        ws.send(json.dumps({"type": "register", "actions": ACTIONS}))
        assert json.loads(ws.recv(timeout=10))["actions"] == ["set_title", "explode", "sleep"]

        def serve() -> None:
            for raw in ws:
                message = json.loads(raw)
                if message["type"] != "call":
                    continue
                reply = handler(message["action"], message["args"])
                if reply is not None:
                    ws.send(json.dumps({"type": "result", "call_id": message["call_id"], **reply}))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield ws
    thread.join(timeout=10)


def call(url: str, user: SessionUser, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{url}/session/runtime/control/call", json=body, headers=user.headers, timeout=30)


def actions(url: str, user: SessionUser, session_id: str) -> httpx.Response:
    return httpx.get(f"{url}/session/runtime/control/actions", params={"session_id": session_id}, headers=user.headers)


def test_registered_actions_are_listed_and_calls_reach_the_client(server: Server) -> None:
    url, alice = server.url, server.alice
    assert actions(url, alice, alice.session_id).json()["actions"] == []
    with app_client(url, alice):
        listed = actions(url, alice, alice.session_id).json()["actions"]
        assert [action["name"] for action in listed] == ["set_title", "explode", "sleep"]
        assert listed[0] == ACTIONS[0] and listed[1]["parameters"] == {}

        done = call(url, alice, {"session_id": alice.session_id, "action": "set_title", "args": {"title": "hi"}})
        assert done.status_code == 200 and done.json()["ok"] is True and done.json()["result"] == {"title": "HI"}
        # No session id: the caller's running session, as ``owned_session`` decides everywhere.
        failed = call(url, alice, {"action": "explode", "args": {"what": "moon"}})
        assert failed.status_code == 200 and failed.json()["ok"] is False
        assert failed.json()["error"] == "cannot explode moon"

        started = time.monotonic()
        late = call(url, alice, {"session_id": alice.session_id, "action": "sleep", "args": {}, "timeout_ms": 300})
        assert late.status_code == 504 and "300 ms" in late.json()["error"]["message"]
        assert 0.3 <= time.monotonic() - started < 5

        unknown = call(url, alice, {"session_id": alice.session_id, "action": "nope", "args": {}})
        assert unknown.status_code == 409 and "nope" in unknown.json()["error"]["message"]
    # The client left: nothing is listed and a call is 409 at once.
    deadline = time.monotonic() + 5
    while actions(url, alice, alice.session_id).json()["actions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert actions(url, alice, alice.session_id).json()["actions"] == []
    gone = call(url, alice, {"session_id": alice.session_id, "action": "set_title", "args": {"title": "x"}})
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "not_connected"


def test_a_browser_passes_its_key_as_a_query_parameter_and_bad_messages_keep_the_channel(
    server: Server,
) -> None:
    url, alice = server.url, server.alice
    with connect(ws_url(url, f"token={alice.token}")) as ws:
        assert json.loads(ws.recv(timeout=10))["session_id"] == alice.session_id
        ws.send("not json")
        assert json.loads(ws.recv(timeout=10))["type"] == "error"
        ws.send(json.dumps({"type": "register", "actions": [{"name": ""}]}))
        refused = json.loads(ws.recv(timeout=10))
        assert refused["type"] == "error" and "actions.0.name" in refused["error"]
        ws.send(json.dumps({"type": "result", "call_id": "call-unknown", "ok": True}))
        assert "call-unknown" in json.loads(ws.recv(timeout=10))["error"]
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}


def test_only_the_owner_reaches_a_session(server: Server) -> None:
    url, alice, bob = server.url, server.alice, server.bob
    with pytest.raises(InvalidStatus) as wrong_key:
        connect(ws_url(url, f"session_id={alice.session_id}"), additional_headers={"Authorization": "Bearer nope"})
    assert wrong_key.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as anonymous:
        connect(ws_url(url, f"session_id={alice.session_id}"))
    assert anonymous.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as other:
        connect(ws_url(url, f"session_id={alice.session_id}"), additional_headers=bob.headers)
    assert other.value.response.status_code == 404
    assert alice.session_id in json.loads(other.value.response.body)["error"]["message"]

    with app_client(url, alice):
        assert actions(url, bob, alice.session_id).status_code == 404
        stolen = call(url, bob, {"session_id": alice.session_id, "action": "set_title", "args": {"title": "x"}})
        assert stolen.status_code == 404
        # Bob's own session has no client: his calls never reach Alice's.
        assert call(url, bob, {"action": "set_title", "args": {"title": "x"}}).status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"args": {}}, "action"),
        ({"action": "set_title", "args": []}, "args"),
        ({"action": "set_title", "timeout_ms": 0}, "timeout_ms"),
        ({"action": "set_title", "timeout_ms": "soon"}, "timeout_ms"),
        ({"action": "set_title", "session_id": "../x"}, "session_id"),
    ],
)
def test_a_bad_call_body_is_400_naming_the_field(server: Server, body: dict[str, Any], field: str) -> None:
    url, alice = server.url, server.alice
    answer = call(url, alice, body)
    assert answer.status_code == 400 and field in answer.json()["error"]["detail"]


def test_without_a_key_or_a_session(server: Server) -> None:
    url, alice = server.url, server.alice
    anonymous = httpx.post(f"{url}/session/runtime/control/call", json={"action": "set_title"})
    assert anonymous.status_code == 401
    assert actions(url, alice, "sess-unknown").status_code == 404
    assert "session_id" in actions(url, alice, "a\x00b").json()["error"]["detail"]
    with pytest.raises(InvalidStatus) as bad_id:
        connect(ws_url(url, "session_id=a%00b"), additional_headers=alice.headers)
    assert bad_id.value.response.status_code == 400
    carol = server.carol
    assert call(url, carol, {"action": "set_title"}).status_code == 503
    assert actions(url, carol, "").status_code == 503


@pytest.mark.parametrize("cli", ["ours", "ara-sdk 0.1.46"])
def test_ara_runtime_control_actions_and_call(server: Server, tmp_path: Path, cli: str) -> None:
    """``ara runtime control actions|call`` as both CLIs spell it: ours and the real ara-sdk 0.1.46."""
    alice = server.alice
    given = {"HOME": str(tmp_path), "ARA_API_BASE_URL": server.url, "ARA_API_KEY": alice.token}
    if cli == "ours":
        argv, env = OUR_ARA, {**os.environ, **given}
    else:
        venv = ensure_sdk_venv("0.1.46")
        argv, env = [str(venv.ara)], venv.environ(clean_environ(), **given)

    def run(*args: str) -> dict[str, Any]:
        command = [*argv, "runtime", "control", *args, "--session", alice.session_id]
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    with app_client(server.url, alice):
        assert [action["name"] for action in run("actions")["actions"]] == ["set_title", "explode", "sleep"]
        called = run("call", "--action", "set_title", "--arg", "title=from cli", "--timeout-ms", "5000")
        assert called["ok"] is True and called["result"] == {"title": "FROM CLI"}
