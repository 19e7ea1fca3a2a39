"""The invoke routes against a real ``ara server`` (SQLite, its embedded engine), real bubblewrap and the scripted
model, with the app deployed through the control plane: a sync run with a tool call, a repeated idempotency key,
warm-up, async poll, a signed webhook retried after a refusal, events deduplicated on ``X-Idempotency-Key``, the
live log stream (replay, ``: ping``, rows up to ``run.completed``), failures answered ``ok: false``, the 400s that
name the bad field, and a secret value absent from every answer and log row."""

from __future__ import annotations

import hmac
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from ara.apps.models import AppRun, AppWebhookDelivery
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.runtime.sandbox.select import choose_sandbox
from ara.settings import Settings
from tests.apps.support import manifest, until
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, call, failure, fake_llm, text
from tests.support.runtime_users import ALICE, seed_runtime_users
from tests.support.server import running_server

SECRET = "s3cret-run-value-4f1c"
HOOK_SECRET = "hook-signing-key"


class Receiver:
    """A webhook receiver on 127.0.0.1: answers the scripted statuses in turn (then 200), keeps what came."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.seen: queue.Queue[tuple[dict[str, str], bytes, int]] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.seen.put(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout: float = 60) -> tuple[dict[str, str], bytes, int]:
        return self.seen.get(timeout=timeout)


@dataclass
class World:
    url: str
    settings: Settings
    engine: Engine
    model: FakeLLM
    receiver: Receiver
    app_id: str
    key: str
    owner: dict[str, str]  # the app owner's user key
    seen: list[str] = field(default_factory=list)  # every answer's text, searched for the secret

    def invoke(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.key}", "Content-Type": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        answer = httpx.request(
            method, f"{self.url}/v1/apps/{self.app_id}{path}", headers=headers, timeout=120, **kwargs
        )
        self.seen.append(answer.text)
        return answer

    def status(self, run_id: str) -> dict[str, Any]:
        answer = self.invoke("GET", f"/runs/{run_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def ended(self, run_id: str) -> dict[str, Any]:
        return dict(until(lambda: (s := self.status(run_id))["status"] in ("completed", "failed") and s, run_id))


@contextmanager
def _env(**values: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(
        tmp_path_factory.mktemp("app-runs"),
        apps={
            "logs_keepalive_seconds": 1,
            "webhook_backoff_seconds": 0.2,
            "sync_run_timeout_seconds": 60,
            "webhook_allow_private": True,  # the receiver is on 127.0.0.1
            "logs_recheck_seconds": 1,
        },
    )
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    user = seed_runtime_users(settings, ALICE)[ALICE]
    engine = make_engine(settings)
    owner = {"Authorization": f"Bearer {user.key}", "Content-Type": "application/json"}
    with (
        fake_llm() as model,
        _env(OPENAI_BASE_URL=model.url, OPENAI_API_KEY="test"),
        running_server(settings) as url,
    ):
        created = httpx.post(
            f"{url}/apps", headers=owner, json={**manifest(slug="run-bot"), "status": "active"}, timeout=60
        )
        assert created.status_code == 201, created.text
        app_id = created.json()["app"]["id"]
        stored = httpx.post(
            f"{url}/apps/{app_id}/secrets", headers=owner, json={"name": "sdk-dict-x", "values": {"TOKEN": SECRET}}
        )
        assert stored.status_code < 300, stored.text
        key = httpx.post(f"{url}/apps/{app_id}/keys", headers=owner, json={"name": "k", "requests_per_minute": 1000})
        assert key.status_code < 300, key.text
        try:
            yield World(url, settings, engine, model, Receiver(), app_id, key.json()["key"], owner)
        finally:
            engine.dispose()


def test_a_sync_run_answers_with_the_agents_text_and_tool_calls(world: World) -> None:
    world.model.reset().script(call("add", {"a": 2, "b": 3}), text("the sum is 5"))
    answer = world.invoke("POST", "/run", json={"agent_id": None, "workflow_id": None, "input": {"message": "add"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["ok"], body["status"], body["agent_id"], body["error"]) == (True, "completed", "digest", None)
    assert body["run_id"].startswith("run-") and body["result"]["output_text"] == "the sum is 5"
    assert [(c["name"], json.loads(c["result"])) for c in body["result"]["tool_calls"]] == [("add", 5)]


def test_input_run_id_is_the_run_id_and_a_repeated_key_starts_nothing(world: World) -> None:
    world.model.reset().script(text("first"))
    given = {"message": "hi", "run_id": "run-given-1", "idempotency_key": "digest-run-given-1"}
    first = world.invoke("POST", "/run", json={"agent_id": "digest", "input": given}).json()
    assert (first["run_id"], first["result"]["output_text"]) == ("run-given-1", "first")
    again = world.invoke("POST", "/run", json={"agent_id": "digest", "input": {**given, "message": "other"}}).json()
    assert again == first and len(world.model.requests) == 1


def test_a_warmup_answers_at_once_and_calls_no_model(world: World) -> None:
    world.model.reset()
    answer = world.invoke("POST", "/run", json={"agent_id": None, "warmup": True, "input": {}})
    assert answer.status_code == 200, answer.text
    ended = world.ended(answer.json()["run_id"])
    assert (ended["status"], ended["warmup"], ended["trigger"]) == ("completed", True, "warmup")
    assert world.model.requests == []


def _set_status(world: World, status: str) -> None:
    moved = httpx.patch(f"{world.url}/apps/{world.app_id}", headers=world.owner, json={"status": status}, timeout=30)
    assert moved.status_code == 200, moved.text


def test_only_an_active_app_runs_and_a_draft_one_may_be_warmed(world: World) -> None:
    try:
        for status in ("paused", "draft"):
            _set_status(world, status)
            for path, body in [("/run", {"input": {"message": "x"}}), ("/runs", {"input": {"message": "x"}})]:
                refused = world.invoke("POST", path, json=body)
                assert refused.status_code == 409, refused.text
                assert refused.json()["error"]["detail"] == {"status": status}
        warm = world.invoke("POST", "/run", json={"agent_id": None, "warmup": True, "input": {}})  # still draft
        assert warm.status_code == 200 and world.ended(warm.json()["run_id"])["status"] == "completed", warm.text
        _set_status(world, "paused")
        assert world.invoke("POST", "/run", json={"warmup": True, "input": {}}).status_code == 409
    finally:
        _set_status(world, "active")


def test_a_failed_run_is_answered_200_with_ok_false_and_its_reason(world: World) -> None:
    world.model.reset().script(failure(500, "the model is down"))
    body = world.invoke("POST", "/run", json={"input": {"message": "x"}}).json()
    assert (body["ok"], body["status"], body["result"]) == (False, "failed", None)
    assert body["error"]
    # The run's records playbook is failed too: the query that lists failed Ansible runs lists it.
    listed = httpx.get(
        f"{world.url}/api/v1/playbooks", headers=world.owner, params={"status": "failed", "label": "app:run-bot"}
    ).json()
    assert {(row["name"], row["path"]) for row in listed["results"]} == {("run-bot/digest", "app://run-bot/digest")}


def test_async_poll_answers_at_once_then_reports_the_end(world: World) -> None:
    world.model.reset().script(text("polled"))
    answer = world.invoke(
        "POST", "/runs", json={"input": {"message": "x"}, "response_mode": "poll", "run_id": "run-async-1"}
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["run"] == {"run_id": "run-async-1", "status": answer.json()["status"]}
    ended = world.ended("run-async-1")
    assert (ended["status"], ended["result"]["output_text"]) == ("completed", "polled")
    assert world.invoke("GET", "/runs/run-nobody").status_code == 404


def test_a_webhook_is_signed_and_retried_after_a_refusal(world: World) -> None:
    world.model.reset().script(text("hooked"))
    world.receiver.statuses = [500]
    callback = {"url": world.receiver.url, "secret": HOOK_SECRET, "events": ["run.completed"]}
    answer = world.invoke(
        "POST", "/runs", json={"input": {"message": "x"}, "response_mode": "webhook", "callback": callback}
    )
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    refused = world.receiver.next()
    headers, body, status = world.receiver.next()
    assert (refused[2], status) == (500, 200) and refused[1] == body  # the same delivery, sent again
    expected = hmac.new(
        HOOK_SECRET.encode(), f"{headers['x-ara-timestamp']}.{headers['x-ara-delivery-id']}.".encode() + body, "sha256"
    ).hexdigest()
    assert hmac.compare_digest(headers["x-ara-signature"], f"sha256={expected}")
    sent = json.loads(body)
    assert (sent["event"], sent["delivery_id"]) == ("run.completed", headers["x-ara-delivery-id"])
    assert (sent["run"]["run_id"], sent["run"]["result"]["output_text"]) == (run_id, "hooked")
    reader = make_sessionmaker(world.engine, write=False)

    def delivery() -> AppWebhookDelivery | None:
        with unit_of_work(reader) as session:  # a transaction per look: each sees the latest commit
            found = session.get(AppWebhookDelivery, sent["delivery_id"])
            return found if found is not None and found.status == "delivered" else None

    assert until(delivery, "the delivery marked delivered").attempts == 2
    with unit_of_work(reader) as session:
        run = session.scalars(select(AppRun).where(AppRun.run_id == run_id)).one()
        assert run.callback is not None and HOOK_SECRET not in json.dumps(run.callback)  # sealed in the row


def test_a_failed_run_sends_no_webhook_it_was_not_asked_for(world: World) -> None:
    world.model.reset().script(failure(500, "down"))
    callback = {"url": world.receiver.url, "secret": "", "events": ["run.completed"]}
    answer = world.invoke("POST", "/runs", json={"response_mode": "webhook", "callback": callback})
    assert world.ended(answer.json()["run_id"])["status"] == "failed"
    with unit_of_work(make_sessionmaker(world.engine, write=False)) as session:
        run = session.scalars(select(AppRun).where(AppRun.run_id == answer.json()["run_id"])).one()
        assert session.scalars(select(AppWebhookDelivery).where(AppWebhookDelivery.run_pk == run.id)).all() == []


def test_events_need_a_key_and_the_same_key_twice_is_one_run(world: World) -> None:
    world.model.reset().script(text("event seen"))
    body = {"event_type": "webhook.message.received", "message": "ping", "payload": {"a": "1"}}
    missing = world.invoke("POST", "/events", json=body)
    assert missing.status_code == 400 and "X-Idempotency-Key" in missing.text
    reserved = world.invoke("POST", "/events", json=body, headers={"X-Idempotency-Key": "schedule:s:t"})
    assert reserved.status_code == 400 and "X-Idempotency-Key" in reserved.json()["error"]["detail"]
    first = world.invoke("POST", "/events", json=body, headers={"X-Idempotency-Key": "evt-1"})
    second = world.invoke("POST", "/events", json=body, headers={"X-Idempotency-Key": "evt-1"})
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["run_id"] == first.json()["run_id"] and second.json()["deduplicated"] is True
    ended = world.ended(first.json()["run_id"])
    assert (ended["trigger"], ended["result"]["output_text"]) == ("event", "event seen")
    assert len(world.model.requests) == 1
    assert "webhook.message.received" in json.dumps(world.model.requests[0].messages)


@pytest.mark.parametrize(
    ("path", "body", "field_name"),
    [
        ("/run", {"input": "text"}, "input"),
        ("/run", {"warmup": "yes"}, "warmup"),
        ("/run", {"input": {"run_id": 7}}, "input.run_id"),
        ("/runs", {"response_mode": "push"}, "response_mode"),
        ("/runs", {"response_mode": "webhook"}, "callback"),
        ("/runs", {"response_mode": "webhook", "callback": {"url": "ftp://x"}}, "callback.url"),
        ("/runs", {"response_mode": "webhook", "callback": {"url": "http://x", "events": ["x"]}}, "callback.events"),
        # the server's own idempotency keys: a caller's must not suppress a schedule's firing or an endpoint's run
        ("/run", {"input": {"idempotency_key": "schedule:daily:2026-12-02T00:00:00+00:00"}}, "input.idempotency_key"),
        ("/runs", {"idempotency_key": "endpoint:hook:k"}, "idempotency_key"),
        ("/runs", {"input": {"idempotency_key": "playbook-action:x"}}, "input.idempotency_key"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(world: World, path: str, body: Any, field_name: str) -> None:
    answer = world.invoke("POST", path, json=body)
    assert answer.status_code == 400 and field_name in answer.json()["error"]["detail"], answer.text


def test_a_wrong_key_is_401_and_an_unknown_agent_404(world: World) -> None:
    assert world.invoke("POST", "/run", key="nope", json={}).status_code == 401
    assert world.invoke("POST", "/runs", key="nope", json={"input": "x"}).status_code == 401  # the key before the body
    assert world.invoke("POST", "/run", json={"agent_id": "ghost"}).status_code == 404


def test_an_open_log_stream_ends_when_its_key_is_deactivated(world: World) -> None:
    base = f"{world.url}/apps/{world.app_id}/x-keys"
    made = httpx.post(base, headers=world.owner, json={"name": "stream-key", "requests_per_minute": 100}, timeout=30)
    assert made.status_code < 300, made.text
    pinged, ended = threading.Event(), threading.Event()

    def read() -> None:
        headers = {"X-Ara-App-Key": made.json()["key"], "Accept": "text/event-stream"}
        with httpx.stream("GET", f"{world.url}/v1/apps/{world.app_id}/logs/stream", headers=headers, timeout=60) as a:
            assert a.status_code == 200
            for line in a.iter_lines():
                if line.startswith(": ping"):
                    pinged.set()
        ended.set()  # the server closed the stream

    threading.Thread(target=read, daemon=True).start()
    assert pinged.wait(30) and not ended.is_set()
    gone = httpx.delete(f"{base}/{made.json()['id']}", headers=world.owner, timeout=30)
    assert gone.status_code == 200, gone.text
    assert ended.wait(30), "the stream kept going after its key was deactivated"


def test_the_log_stream_replays_pings_and_follows_a_run_to_its_end(world: World) -> None:
    world.model.reset().script(text(f"leaking {SECRET} here"))
    rows: list[dict[str, Any]] = []
    pinged = threading.Event()
    opened = threading.Event()

    def read() -> None:
        headers = {"Authorization": f"Bearer {world.key}", "Accept": "text/event-stream"}
        url = f"{world.url}/v1/apps/{world.app_id}/logs/stream"
        with httpx.stream("GET", url, headers=headers, params={"run_id": "run-logged"}, timeout=60) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for line in answer.iter_lines():
                if line.startswith(": ping"):
                    pinged.set()
                elif line.startswith("data: "):
                    rows.append(json.loads(line[6:]))
                if pinged.is_set() and rows and rows[-1]["event_type"] in ("run.completed", "run.failed"):
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(30) and pinged.wait(30)  # an idle stream says ": ping" (keep-alive set to 1 s here)
    body = world.invoke("POST", "/run", json={"input": {"message": "x", "run_id": "run-logged"}}).json()
    assert body["status"] == "completed" and SECRET not in body["result"]["output_text"]
    reader.join(timeout=60)
    assert not reader.is_alive() and pinged.is_set()
    events = [row["event_type"] for row in rows]
    assert events[:2] == ["run.queued", "run.started"] and events[-1] == "run.completed"
    assert {row["run_id"] for row in rows} == {"run-logged"} and set(rows[0]) == {
        "timestamp",
        "level",
        "run_id",
        "event_type",
        "message",
    }
    # Connecting again replays the run's rows (they are within the last minute).
    headers = {"Authorization": f"Bearer {world.key}"}
    url = f"{world.url}/v1/apps/{world.app_id}/logs/stream"
    with httpx.stream("GET", url, headers=headers, params={"run_id": "run-logged"}, timeout=60) as answer:
        replayed = []
        for line in answer.iter_lines():
            if line.startswith("data: "):
                replayed.append(json.loads(line[6:])["event_type"])
                if replayed[-1] == "run.completed":
                    break
    assert replayed == events
    assert all(SECRET not in text for text in world.seen) and SECRET not in json.dumps(rows)
