"""Every trigger goes through the one run-creation pipeline: schedules, signed webhooks, records events."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time

import httpx

from ara.engine.housekeeping import previous_fire
from tests.support.mission import Mission

ECHO = [{"name": "echo", "exec": {"script": "echo triggered by $(.run.trigger) with {{ params.reason }}"}}]
PARAMS = [{"name": "reason", "required": True}]


def _runs(mission: Mission, playbook_id: str) -> list[dict]:
    return mission.http.get("/playbook/runs", params={"playbook_id": playbook_id}).json()


def _wait_for_runs(mission: Mission, playbook_id: str, count: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(runs := _runs(mission, playbook_id)) < count:
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
    return runs


def _ticks(mission: Mission, count: int) -> None:
    """Return once the scheduler has completed ``count`` full ticks from now: a witness playbook firing every
    second fires at most once per tick, so ``count + 1`` of its runs span ``count`` whole ticks. Counting
    work, not sleeping, keeps "nothing more fired" assertions meaningful on a loaded machine."""
    witness = mission.define(
        f"witness-{time.monotonic_ns()}",
        {"on": {"schedule": [{"schedule": "@every 1s"}]}, "actions": [{"name": "tick", "exec": {"script": "true"}}]},
    )
    _wait_for_runs(mission, witness, count + 1, timeout=60)
    assert mission.http.delete(f"/playbook/{witness}").status_code == 204


def test_previous_fire_of_cron_and_every() -> None:
    now = dt.datetime(2024, 5, 1, 10, 7, 30, tzinfo=dt.UTC)
    assert previous_fire("*/5 * * * *", now, now - dt.timedelta(days=1)) == dt.datetime(
        2024, 5, 1, 10, 5, tzinfo=dt.UTC
    )
    anchor = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.UTC)
    assert previous_fire("@every 2m", now, anchor) == dt.datetime(2024, 5, 1, 10, 6, tzinfo=dt.UTC)


def test_schedule_fires_once_per_tick_with_its_parameters(mission: Mission) -> None:
    playbook_id = mission.define(
        "scheduled",
        {
            "parameters": PARAMS,
            "on": {"schedule": [{"schedule": "@every 1s", "parameters": {"reason": "cron"}}]},
            "actions": ECHO,
        },
    )
    runs = _wait_for_runs(mission, playbook_id, 2)
    assert {r["trigger"] for r in runs} == {"schedule"}
    first = mission.wait(runs[-1]["id"])
    assert first["status"] == "completed"
    assert mission.status(first["id"])["actions"][0]["result"]["stdout"] == "triggered by schedule with cron\n"
    mission.http.delete(f"/playbook/{playbook_id}")
    settled = len(_runs(mission, playbook_id))
    _ticks(mission, 2)
    assert len(_runs(mission, playbook_id)) == settled  # a deleted playbook's schedule stops


def test_github_signed_webhook(mission: Mission) -> None:
    playbook_id = mission.define(
        "hooked",
        {
            "parameters": PARAMS,
            "on": {"webhook": {"path": "deploy/prod", "authentication": {"github": {"token": "s3cret"}}}},
            "actions": ECHO,
        },
    )
    assert "s3cret" not in mission.http.get(f"/playbook/{playbook_id}").text
    body = json.dumps({"params": {"reason": "push"}}).encode()
    signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    with httpx.Client(base_url=mission.url) as anonymous:
        good = anonymous.post("/playbook/webhook/deploy/prod", content=body, headers={"X-Hub-Signature-256": signature})
        assert good.status_code == 201
        run_id = good.json()["run_id"]
        bad = anonymous.post(
            "/playbook/webhook/deploy/prod", content=body, headers={"X-Hub-Signature-256": "sha256=00"}
        )
        assert bad.status_code == 401
        unsigned = anonymous.post("/playbook/webhook/deploy/prod", content=body)
        assert unsigned.status_code == 401
        assert anonymous.post("/playbook/webhook/elsewhere", content=body).status_code == 404
        missing_param = json.dumps({}).encode()
        signed = "sha256=" + hmac.new(b"s3cret", missing_param, hashlib.sha256).hexdigest()
        refused = anonymous.post(
            "/playbook/webhook/deploy/prod", content=missing_param, headers={"X-Hub-Signature-256": signed}
        )
        assert refused.status_code == 400  # same validation as any other run
    run = mission.wait(run_id)
    assert run["status"] == "completed" and run["trigger"] == "webhook"
    assert mission.status(run_id)["actions"][0]["result"]["stdout"] == "triggered by webhook with push\n"


def test_basic_auth_webhook(mission: Mission) -> None:
    playbook_id = mission.define(
        "basic-hook",
        {
            "on": {"webhook": {"path": "basic", "authentication": {"basic": {"username": "hook", "password": "pa55"}}}},
            "actions": ECHO[:0] + [{"name": "x", "exec": {"script": "true"}}],
        },
    )
    with httpx.Client(base_url=mission.url) as anonymous:
        token = base64.b64encode(b"hook:pa55").decode()
        assert anonymous.post("/playbook/webhook/basic", headers={"Authorization": f"Basic {token}"}).status_code == 201
        wrong = base64.b64encode(b"hook:nope").decode()
        assert anonymous.post("/playbook/webhook/basic", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
        assert anonymous.post("/playbook/webhook/basic").status_code == 401
    [run] = _runs(mission, playbook_id)  # the refused calls started nothing
    assert run["trigger"] == "webhook" and mission.wait(run["id"])["status"] == "completed"


def test_records_event_runs_when_a_labelled_recording_fails(mission: Mission) -> None:
    playbook_id = mission.define(
        "remediate",
        {
            "parameters": [{"name": "reason", "default": "ansible failed"}],
            "on": {"records": [{"status": "failed", "labels": ["nightly"]}]},
            "actions": ECHO,
        },
    )
    api = mission.http
    ignored = api.post(
        "/api/v1/playbooks", json={"ansible_version": "2.19", "path": "/x.yml", "labels": ["other"]}
    ).json()
    api.patch(
        f"/api/v1/playbooks/{ignored['id']}", json={"status": "failed", "ended": dt.datetime.now(dt.UTC).isoformat()}
    )
    watched = api.post(
        "/api/v1/playbooks", json={"ansible_version": "2.19", "path": "/site.yml", "labels": ["nightly"]}
    ).json()
    api.patch(
        f"/api/v1/playbooks/{watched['id']}", json={"status": "failed", "ended": dt.datetime.now(dt.UTC).isoformat()}
    )
    [run] = _wait_for_runs(mission, playbook_id, 1)
    assert run["trigger"] == "records"
    assert run["request"]["records_playbook"]["id"] == watched["id"]
    assert mission.wait(run["id"])["status"] == "completed"
    _ticks(mission, 4)  # each tick looks 2 s back: the recording is seen again by the next ticks
    assert len(_runs(mission, playbook_id)) == 1  # the same recording never fires twice
