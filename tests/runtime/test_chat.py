"""The agent loop over HTTP: ``POST /chat`` (the UI-message stream) and ``POST /v1/chat`` against a real server on
127.0.0.1 whose model is a scripted OpenAI-compatible server (``tests/support/fake_llm.py``), tools running in the
session's real sandbox, turns and tool calls landing in the records API."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ara.server.routes import chat as chat_routes
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.fake_llm import Call, FakeLLM, Reply, call, calls, failure, fake_llm, text
from tests.support.runtime_users import RuntimeUser, seed_runtime_users
from tests.support.server import running_server

API_KEY = "sk-test-secret-4242"
ADA = "ada@example.org"
BOB = "bob@example.org"
NOBODY = "carol@example.org"  # never starts a session


@dataclass
class Env:
    url: str
    settings: Settings
    model: FakeLLM
    users: dict[str, RuntimeUser]
    sessions: dict[str, str]  # email -> session id

    def workspace(self, email: str = ADA) -> Path:
        return self.settings.sessions_dir / self.sessions[email]

    def post(self, path: str, body: Any, email: str = ADA) -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=self.users[email].headers, timeout=30)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One server and one scripted model for the module (each test scripts the model afresh)."""
    settings = make_settings(tmp_path_factory.mktemp("chat"), runtime={"max_turns": 2})
    users = seed_runtime_users(settings, ADA, BOB, NOBODY)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch, running_server(settings) as url:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", API_KEY)
        sessions = {}
        for email in (ADA, BOB):
            started = httpx.post(url + "/session/start", json={}, headers=users[email].headers, timeout=30)
            assert started.status_code == 200, started.text
            sessions[email] = started.json()["session_id"]
        yield Env(url, settings, model, users, sessions)


@pytest.fixture
def chat(env: Env) -> Env:
    env.model.reset()
    return env


def stream_chat(env: Env, body: dict[str, Any], email: str = ADA) -> tuple[httpx.Response, list[Any]]:
    """The SSE events of ``POST /chat`` in order (``"[DONE]"`` for the end marker)."""
    events: list[Any] = []
    with httpx.stream("POST", env.url + "/chat", json=body, headers=env.users[email].headers, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                data = line.removeprefix("data: ")
                events.append(data if data == "[DONE]" else json.loads(data))
    return r, events


def types(events: list[Any]) -> list[str]:
    return [e if isinstance(e, str) else e["type"] for e in events]


def records(env: Env, path: str, **params: Any) -> list[dict[str, Any]]:
    answer = httpx.get(env.url + "/api/v1/" + path, params=params, headers=env.users[ADA].headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def test_a_tool_call_writes_the_file_and_the_answer_has_text_and_tool_calls(chat: Env) -> None:
    content = "print('hello')\n"
    chat.model.script(call("write_file", {"path": "hello.py", "content": content}), text("Created hello.py."))
    answer = chat.post("/v1/chat", {"message": "Create hello.py", "model": "openai/fake-model"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "Created hello.py."
    assert [(c["name"], c["args"]) for c in body["tool_calls"]] == [
        ("write_file", {"path": "hello.py", "content": content})
    ]
    assert body["tool_calls"][0]["result"]["path"] == "/root/.ara/workspace/hello.py"
    assert body["conversation_id"]
    assert (chat.workspace() / "workspace" / "hello.py").read_text() == content

    first, second = chat.model.requests
    assert first.body["model"] == "fake-model" and first.authorization == f"Bearer {API_KEY}"
    assert {"write_file", "read_file", "edit_file", "list_dir", "exec"} <= set(first.tool_names)
    assert first.messages[0]["role"] == "system" and first.messages[-1] == {
        "role": "user",
        "content": "Create hello.py",
    }
    called, returned = second.messages[-2], second.messages[-1]
    assert called["role"] == "assistant" and called["tool_calls"][0]["function"]["name"] == "write_file"
    assert returned["role"] == "tool" and returned["tool_call_id"] == called["tool_calls"][0]["id"]
    assert json.loads(returned["content"])["bytes_written"] == len(content)


def test_the_turn_is_a_play_and_its_tool_calls_are_results(chat: Env) -> None:
    chat.model.script(
        calls(Call("write_file", {"path": "rec.txt", "content": "x"}), Call("read_file", {"path": "/etc/passwd"})),
        text("One of two."),
    )
    assert chat.post("/v1/chat", {"message": "Record me please"}).status_code == 200
    plays = [p for p in records(chat, "plays") if p["name"] == "chat: Record me please"]
    assert len(plays) == 1 and plays[0]["status"] == "completed"
    results = records(chat, "results", play=plays[0]["id"])
    assert sorted(r["status"] for r in results) == ["failed", "ok"]
    failed = records(chat, "results", status="failed", play=plays[0]["id"])
    assert len(failed) == 1


def test_the_memory_example_leaves_user_md_and_the_next_turn_knows_it(chat: Env) -> None:
    memory = "# User\n- Name: Ada\n- Likes: tea\n"
    chat.model.script(
        call("write_file", {"path": "/root/.ara/memory/USER.md", "content": memory}),
        text("Nice to meet you, Ada. I'll remember you like tea."),
        text("You like tea."),
    )
    _, events = stream_chat(
        chat, {"messages": [{"role": "user", "content": "Remember that my name is Ada and I like tea"}]}
    )
    assert "error" not in types(events)
    assert (chat.workspace() / "memory" / "USER.md").read_text() == memory
    assert "Likes: tea" not in chat.model.requests[0].system  # before: not known

    _, events = stream_chat(chat, {"messages": [{"role": "user", "content": "What do I like?"}]})  # a new chat
    assert "".join(e["delta"] for e in events if isinstance(e, dict) and e["type"] == "text-delta") == "You like tea."
    system = chat.model.requests[2].system
    assert "/root/.ara/memory/USER.md" in system and "Name: Ada" in system and "Likes: tea" in system
    assert len(chat.model.requests[2].messages) == 2  # system + the new question: the memory came from the file


def test_a_daily_note_is_in_the_prompt(chat: Env) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    (chat.workspace() / "memory" / f"{today}.md").write_text("Standup moved to 10:30.\n")
    chat.model.script(text("ok"))
    assert chat.post("/v1/chat", {"message": "hi"}).status_code == 200
    assert "Standup moved to 10:30." in chat.model.requests[0].system


def test_tool_errors_reach_the_model_as_text(chat: Env) -> None:
    chat.model.script(
        calls(
            Call("read_file", {"path": "../../etc/passwd"}),
            Call("no_such_tool", {}),
            Call("write_file", '{"path": "broken.txt", "content": '),
        ),
        text("Those failed."),
    )
    _, events = stream_chat(chat, {"messages": [{"role": "user", "content": "try things"}]})
    outputs = [e["output"] for e in events if isinstance(e, dict) and e["type"] == "tool-output-available"]
    assert len(outputs) == 3 and all(o.startswith("error: ") for o in outputs)
    returned = [m for m in chat.model.requests[1].messages if m["role"] == "tool"]
    assert [m["content"] for m in returned] == outputs
    assert "outside the session" in outputs[0] or "leads outside" in outputs[0]
    assert "unknown tool 'no_such_tool'" in outputs[1]
    assert "not valid JSON" in outputs[2]
    assert not (chat.workspace() / "workspace" / "broken.txt").exists()


def test_max_turns_ends_with_one_last_call_offered_no_tools(chat: Env) -> None:
    no_id = Call("list_dir", {"path": "."}, send_id=False)  # the loop names the call itself
    chat.model.script(calls(no_id), call("list_dir", {"path": "."}), text("Here is what I found."))
    answer = chat.post("/v1/chat", {"message": "keep looking"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "Here is what I found." and len(answer.json()["tool_calls"]) == 2
    assert len(chat.model.requests) == 3  # max_turns (2) calls with tools, then one without
    assert chat.model.requests[0].tool_names and chat.model.requests[1].tool_names
    assert "tools" not in chat.model.requests[2].body
    assert "Do not call tools" in chat.model.requests[2].messages[-1]["content"]
    named, answered = chat.model.requests[1].messages[-2:]
    assert named["tool_calls"][0]["id"] and named["tool_calls"][0]["id"] == answered["tool_call_id"]


def test_a_chat_id_continues_the_stored_conversation(chat: Env) -> None:
    chat.model.script(call("write_file", {"path": "n.txt", "content": "7"}), text("Saved your number."))
    first = chat.post("/v1/chat", {"message": "My number is 7, save it"})
    chat_id = first.json()["conversation_id"]

    chat.model.script(text("It is 7."))
    response, events = stream_chat(
        chat, {"messages": [{"role": "user", "content": "What is my number?"}], "chatId": chat_id}
    )
    assert response.headers["x-ara-chat-id"] == chat_id and events[0]["messageMetadata"]["chatId"] == chat_id
    sent = chat.model.requests[2].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"] == "My number is 7, save it" and sent[4]["content"] == "Saved your number."
    assert sent[-1]["content"] == "What is my number?"

    # Someone else's chat id is not found; a chat id nobody has starts a chat under that id.
    assert chat.post("/v1/chat", {"message": "hi", "conversation_id": chat_id}, email=BOB).status_code == 404
    chat.model.script(text("fresh"))
    fresh = chat.post("/v1/chat", {"message": "hi", "conversation_id": "client-made-id-1"}, email=BOB)
    assert fresh.status_code == 200 and fresh.json()["conversation_id"] == "client-made-id-1"
    assert len(chat.model.requests) == 4  # the refused request never reached the model


def test_refusals_before_the_stream_name_the_problem(chat: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    message = [{"role": "user", "content": "hi"}]
    unknown = chat.post("/chat", {"messages": message, "model": "nosuch/model-x"})
    assert unknown.status_code == 400 and "model" in unknown.json()["error"]["detail"]
    assert "nosuch" in unknown.json()["error"]["message"]
    assert chat.post("/chat", {"messages": message, "model": "openai/"}).json()["error"]["detail"].keys() == {"model"}
    assert chat.post("/chat", {"model": "openai/x"}).json()["error"]["detail"].keys() == {"messages"}
    wrong = chat.post("/chat", {"messages": [{"role": "assistant", "content": "hi"}]})
    assert wrong.status_code == 400 and "messages" in wrong.json()["error"]["detail"]
    assert chat.post("/chat", {"messages": message, "chatId": 5}).json()["error"]["detail"].keys() == {"chatId"}
    assert httpx.post(chat.url + "/chat", json={"messages": message}, timeout=30).status_code == 401
    nobody = chat.post("/chat", {"messages": message}, email=NOBODY)
    assert nobody.status_code == 503 and "session" in nobody.json()["error"]["message"]
    monkeypatch.delenv("OPENAI_API_KEY")
    keyless = chat.post("/v1/chat", {"message": "hi"})
    assert keyless.status_code == 503 and "OPENAI_API_KEY" in keyless.json()["error"]["message"]
    assert chat.model.requests == []


def test_a_provider_error_is_an_error_event_without_the_key(chat: Env) -> None:
    chat.model.script(failure(429, f"Rate limit reached for key {API_KEY}: slow down"))
    response, events = stream_chat(chat, {"messages": [{"role": "user", "content": "hello"}]}, email=BOB)
    assert response.status_code == 200
    errors = [e for e in events if isinstance(e, dict) and e["type"] == "error"]
    assert len(errors) == 1 and "429" in errors[0]["errorText"] and "slow down" in errors[0]["errorText"]
    assert API_KEY not in json.dumps(events)
    assert events[-1] == "[DONE]"

    chat.model.script(failure(500, "the model crashed"))
    answer = chat.post("/v1/chat", {"message": "hello"}, email=BOB)
    assert answer.status_code == 502 and "500" in answer.json()["error"]["message"]
    # ARA's plays have no failed status: the turns' plays end, the session's playbook is failed.
    plays = [p for p in records(chat, "plays") if p["name"] == "chat: hello"]
    assert len(plays) == 2 and all(p["status"] == "completed" and p["ended"] for p in plays)
    playbook = httpx.get(f"{chat.url}/api/v1/playbooks/{plays[0]['playbook']}", headers=chat.users[BOB].headers)
    assert playbook.json()["status"] == "failed"


def test_the_stream_flows_as_the_model_produces_it(chat: Env) -> None:
    """The scripted model holds its last chunk until the test has seen the first text-delta: a server that
    buffered the answer would never show it, and the gate would time out."""
    gate = threading.Event()
    chat.model.script(
        Reply(
            text="Let me write it.",
            reasoning="The user wants a file.",
            calls=(Call("write_file", {"path": "s.txt", "content": "s"}),),
        ),
        Reply(text="Streaming works fine.", gate=gate),
    )
    events: list[Any] = []
    with httpx.stream(
        "POST",
        chat.url + "/chat",
        json={"messages": [{"role": "user", "content": "go"}]},
        headers=chat.users[ADA].headers,
        timeout=30,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
        assert response.headers["cache-control"] == "no-cache"
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line.removeprefix("data: ")
            event = data if data == "[DONE]" else json.loads(data)
            events.append(event)
            if isinstance(event, dict) and event["type"] == "text-delta" and "tool-output-available" in types(events):
                gate.set()  # the second answer's first words are here while its last chunk is held
    assert chat.model.requests[1].gate_opened is True
    kinds = [k for i, k in enumerate(types(events)) if i == 0 or k != types(events)[i - 1]]  # runs collapsed
    assert kinds == [
        "start",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-end",
        "tool-input-available",
        "tool-output-available",
        "text-start",
        "text-delta",
        "text-end",
        "finish",
        "[DONE]",
    ]
    deltas = [e for e in events if isinstance(e, dict) and e["type"] == "text-delta"]
    assert "".join(e["delta"] for e in deltas) == "Let me write it.Streaming works fine."
    assert len({e["id"] for e in deltas}) == 2  # two text parts
    reasoning = "".join(e["delta"] for e in events if isinstance(e, dict) and e["type"] == "reasoning-delta")
    assert reasoning == "The user wants a file."
    tool_in = next(e for e in events if isinstance(e, dict) and e["type"] == "tool-input-available")
    tool_out = next(e for e in events if isinstance(e, dict) and e["type"] == "tool-output-available")
    assert tool_in["toolName"] == "write_file" and tool_in["input"] == {"path": "s.txt", "content": "s"}
    assert tool_out["toolCallId"] == tool_in["toolCallId"] and tool_out["output"]["bytes_written"] == 1


def _slow_tool_call(path: str) -> Reply:
    """Streams for seconds before its tool call: a client leaving meanwhile must stop it."""
    return Reply(
        text="Thinking about it. " * 20, calls=(Call("write_file", {"path": path, "content": "x"}),), chunk_delay=0.05
    )


def _assert_cancelled(chat: Env, play_name: str, path: str) -> None:
    seen = chat.model.wait_finished(0)
    assert seen.disconnected and not seen.completed
    time.sleep(0.3)
    assert len(chat.model.requests) == 1
    assert not (chat.workspace() / "workspace" / path).exists()
    deadline = time.monotonic() + 10
    while True:
        plays = [p for p in records(chat, "plays") if p["name"] == play_name]
        if plays and plays[0]["ended"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(plays) == 1 and plays[0]["status"] == "completed" and plays[0]["ended"]
    assert [r for r in records(chat, "results", play=plays[0]["id"])] == []


def test_a_client_going_away_cancels_the_turn(chat: Env) -> None:
    """The model streams slowly and would end with a tool call; the client leaves after the first words: the
    server closes the model's response, no tool runs, no further model call, the play is not left running."""
    chat.model.script(_slow_tool_call("late.txt"), text("never asked"))
    with httpx.stream(
        "POST",
        chat.url + "/chat",
        json={"messages": [{"role": "user", "content": "cancel me"}]},
        headers=chat.users[ADA].headers,
        timeout=30,
    ) as response:
        for line in response.iter_lines():
            if '"text-delta"' in line:
                break  # leaving the block closes the connection
    _assert_cancelled(chat, "chat: cancel me", "late.txt")


def test_a_client_going_away_cancels_a_v1_turn_too(chat: Env) -> None:
    """A plain JSON answer is cancelled as well: the client's socket closes while the model streams."""
    chat.model.script(_slow_tool_call("late-v1.txt"), text("never asked"))
    body = json.dumps({"message": "cancel me too"}).encode()
    host, port = chat.url.removeprefix("http://").split(":")
    head = (
        f"POST /v1/chat HTTP/1.1\r\nHost: {host}\r\nAuthorization: {chat.users[ADA].headers['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((host, int(port))) as client:
        client.sendall(head.encode() + body)
        deadline = time.monotonic() + 10
        while not chat.model.requests and time.monotonic() < deadline:
            time.sleep(0.01)
    _assert_cancelled(chat, "chat: cancel me too", "late-v1.txt")


def test_an_idle_stream_is_kept_alive(chat: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the model thinks, SSE comments keep the connection busy (clients and proxies drop silent ones)."""
    monkeypatch.setattr(chat_routes, "KEEPALIVE_SECONDS", 0.2)
    chat.model.script(text("Finally.", latency=1.0))
    lines = []
    with httpx.stream(
        "POST",
        chat.url + "/chat",
        json={"messages": [{"role": "user", "content": "take your time"}]},
        headers=chat.users[ADA].headers,
        timeout=30,
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    first_text = next(i for i, line in enumerate(lines) if '"text-delta"' in line)
    assert ": keep-alive" in lines[:first_text] and lines[-1] == "data: [DONE]"
