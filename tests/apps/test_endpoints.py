"""The endpoint gateway over HTTP against a real ``ara server``: an app deployed as the 0.1.46 SDK sends it, its
endpoint secrets read from ``GET /apps/{id}/setup``, then external callers with and without the right
credentials. A good call runs the endpoint's agent on the scripted model and answers with the run; a bad one is
refused before any run starts."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ara.apps.models import AppRun
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.fake_llm import FakeLLM, failure, fake_llm, text
from tests.support.runtime_users import ALICE, seed_runtime_users
from tests.support.server import running_server

DATA = Path(__file__).parent / "data"
ANSWER = "Ticket 7 is about the printer."


def endpoint(label: str, method: str, mode: str, agent_id: str, header_name: str = "") -> dict[str, Any]:
    """An ``interfaces.fastapi_endpoints[]`` row as the 0.1.46 SDK writes it."""
    return {
        "type": "fastapi_endpoint",
        "method": method,
        "path": f"/{label}",
        "label": label,
        "docs": False,
        "auth": {
            "mode": mode,
            "header_name": header_name,
            "secret_env": f"ARA_ENDPOINT_{label.upper()}_SECRET" if mode != "none" else "",
        },
        "agent_id": agent_id,
        "workflow_id": agent_id,
    }


def manifest() -> dict[str, Any]:
    """The 0.1.46 sample (its ``hook`` endpoint is hmac on POST) plus one endpoint of each other mode."""
    doc: dict[str, Any] = json.loads((DATA / "control_manifest.json").read_text())
    doc["slug"] = "gateway-bot"
    for agent in doc["agent"]["agents"]:
        agent["schedules"] = []  # no scheduled run shares the scripted model with these calls
    doc["interfaces"]["fastapi_endpoints"] += [
        endpoint("tok", "PUT", "header", "helper", header_name="X-Hook-Token"),
        endpoint("plain-header", "POST", "header", "helper"),
        endpoint("bear", "POST", "bearer", "helper"),
        endpoint("open", "GET", "none", "helper"),
    ]
    return doc


@dataclass
class Gateway:
    url: str
    settings: Settings
    model: FakeLLM
    app_id: str
    secrets: dict[str, str]

    def call(self, method: str, label: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.url}/v1/apps/{self.app_id}/endpoints/{label}", timeout=120, **kwargs)

    def runs(self) -> int:
        engine = make_engine(self.settings)
        try:
            with unit_of_work(make_sessionmaker(engine, write=False)) as session:
                return int(session.scalar(select(func.count()).select_from(AppRun)) or 0)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    settings = make_settings(tmp_path_factory.mktemp("gateway"))
    owner = seed_runtime_users(settings, ALICE)[ALICE]
    with fake_llm(default=text(ANSWER)) as model, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", model.url)  # before the server starts: its executor runs the agents
        patch.setenv("OPENAI_API_KEY", "sk-test")
        with running_server(settings) as url:
            headers = {**owner.headers, "Content-Type": "application/json"}
            created = httpx.post(f"{url}/apps", json={**manifest(), "status": "active"}, headers=headers, timeout=30)
            assert created.status_code == 201, created.text
            app_id = created.json()["app"]["id"]
            setup = httpx.get(f"{url}/apps/{app_id}/setup", headers=headers, timeout=30).json()
            secrets = {row["label"]: row["secret"] for row in setup["endpoints"] if row["secret"]}
            assert set(secrets) == {"hook", "tok", "plain-header", "bear"}
            yield Gateway(url, settings, model, app_id, secrets)


def signed(secret: str, body: bytes, stamp: int | None = None) -> dict[str, str]:
    """What an hmac caller sends: the timestamp and ``sha256=HMAC(secret, "<timestamp>." + body)``."""
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Ara-Timestamp": str(stamp), "X-Ara-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def test_an_hmac_call_with_a_good_signature_runs_the_agent(gateway: Gateway) -> None:
    body = b'{"ticket": 7, "text": "printer on fire"}'
    gateway.model.reset()
    answer = gateway.call("POST", "hook", content=body, headers=signed(gateway.secrets["hook"], body))
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert run["status"] == "completed" and run["agent_id"] == "digest"
    assert run["result"]["output_text"] == ANSWER
    # the body reached the agent's prompt function (in the sandbox) as its input, and as input["input"]
    system = gateway.model.wait_finished(0).system
    assert (
        "Summarize {'ticket': 7, 'text': 'printer on fire', 'input': {'ticket': 7, 'text': 'printer on fire'}" in system
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/json"}, id="missing"),
        pytest.param("stale", id="stale"),
        pytest.param("wrong", id="wrong"),
        # '²' is a digit to str.isdigit, not to int(): a 500 before (latin-1 on the wire, as Starlette reads it)
        pytest.param({"X-Ara-Timestamp": b"\xb2", "X-Ara-Signature": b"sha256=00"}, id="superscript-two"),
    ],
)
def test_an_hmac_call_without_a_current_good_signature_is_401(gateway: Gateway, headers: Any) -> None:
    body = b'{"ticket": 7}'
    if headers == "stale":
        headers = signed(gateway.secrets["hook"], body, stamp=int(time.time()) - 301)
    elif headers == "wrong":
        headers = signed("not-the-secret", body)
    before = gateway.runs()
    answer = gateway.call("POST", "hook", content=body, headers=headers)
    assert answer.status_code == 401, answer.text
    message = answer.json()["error"]["message"]
    assert message == "this endpoint needs a current X-Ara-Timestamp and a valid X-Ara-Signature"
    assert gateway.secrets["hook"] not in answer.text
    assert answer.headers["www-authenticate"] == 'Ara-HMAC-SHA256 realm="ara-endpoint"'  # no browser password dialog
    assert gateway.runs() == before  # refused before any run started


def test_a_signature_over_another_body_is_401(gateway: Gateway) -> None:
    headers = signed(gateway.secrets["hook"], b'{"ticket": 7}')
    assert gateway.call("POST", "hook", content=b'{"ticket": 8}', headers=headers).status_code == 401


def test_a_wrong_method_is_405_naming_the_allowed_one(gateway: Gateway) -> None:
    for method in ("GET", "PUT", "DELETE"):
        answer = gateway.call(method, "hook")
        assert answer.status_code == 405, (method, answer.text)
        assert answer.headers["allow"] == "POST"
        assert answer.json()["error"]["detail"] == {"allowed": ["POST"]}


def test_unknown_apps_and_labels_are_404(gateway: Gateway) -> None:
    assert gateway.call("POST", "nope").status_code == 404
    missing = httpx.post(f"{gateway.url}/v1/apps/app-unknown/endpoints/hook", timeout=30)
    assert missing.status_code == 404


def test_header_mode_checks_the_declared_header(gateway: Gateway) -> None:
    secret = gateway.secrets["tok"]
    assert gateway.call("PUT", "tok", json={"a": 1}, headers={"X-Ara-Endpoint-Secret": secret}).status_code == 401
    assert gateway.call("PUT", "tok", json={"a": 1}, headers={"X-Hook-Token": "wrong"}).status_code == 401
    answer = gateway.call("PUT", "tok", json={"a": 1}, headers={"X-Hook-Token": secret})
    assert answer.status_code == 200, answer.text
    assert answer.json()["agent_id"] == "helper"
    default = gateway.secrets["plain-header"]
    answer = gateway.call("POST", "plain-header", json={}, headers={"X-Ara-Endpoint-Secret": default})
    assert answer.status_code == 200, answer.text


def test_bearer_mode_checks_authorization(gateway: Gateway) -> None:
    secret = gateway.secrets["bear"]
    refused = gateway.call("POST", "bear", json={}, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Bearer realm="ara-endpoint"'
    assert gateway.call("POST", "bear", json={}, headers={"Authorization": f"Basic {secret}"}).status_code == 401
    answer = gateway.call("POST", "bear", json={"q": "x"}, headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"]["output_text"] == ANSWER


def test_an_open_get_endpoint_takes_its_query_and_a_bad_body_is_400(gateway: Gateway) -> None:
    answer = gateway.call("GET", "open", params={"q": "status"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    headers = {"Authorization": f"Bearer {gateway.secrets['bear']}", "Content-Type": "application/json"}
    for bad in (b"[1, 2]", b"not json", b'"text"'):
        refused = gateway.call("POST", "bear", content=bad, headers=headers)
        assert refused.status_code == 400, refused.text
        assert list(refused.json()["error"]["detail"]) == ["body"]


def test_the_endpoint_secret_appears_in_no_refusal(gateway: Gateway) -> None:
    everything = copy.deepcopy(gateway.secrets)
    answers = [
        gateway.call("POST", "hook", content=b"{}", headers=signed("x", b"{}")),
        gateway.call("PUT", "tok", json={}),
        gateway.call("POST", "bear", json={}),
    ]
    for answer in answers:
        assert answer.status_code == 401
        assert not any(secret in answer.text for secret in everything.values())


def test_a_resend_with_the_same_idempotency_key_answers_the_first_run(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {gateway.secrets['bear']}", "X-Idempotency-Key": "delivery-42"}
    before = gateway.runs()
    first = gateway.call("POST", "bear", json={"n": 1}, headers=headers)
    again = gateway.call("POST", "bear", json={"n": 1}, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json()["run_id"] == first.json()["run_id"]
    assert gateway.runs() == before + 1
    too_long = {**headers, "X-Idempotency-Key": "k" * 129}
    refused = gateway.call("POST", "bear", json={"n": 1}, headers=too_long)
    assert refused.status_code == 400 and list(refused.json()["error"]["detail"]) == ["X-Idempotency-Key"]


def test_a_failed_run_is_answered_as_the_run_says_it(gateway: Gateway) -> None:
    """The call reached the agent: the answer is the run (200, ``ok`` false and the reason), not an HTTP error."""
    gateway.model.reset().script(failure(500, "model down"))
    answer = gateway.call("POST", "bear", json={}, headers={"Authorization": f"Bearer {gateway.secrets['bear']}"})
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["ok"], run["status"], run["result"]) == (False, "failed", None)
    assert "model down" in run["error"]
