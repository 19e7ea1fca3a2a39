"""Automations: jobs over the 0.1.58 ``/automations`` routes on a real server, fired by the engine's clock as
runs on the ``agents`` queue (the embedded executor on SQLite, procrastinate on PostgreSQL), each run one chat
turn whose answer is its output; retries, one-shots, replay, and other users kept out."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from ara.db.session import unit_of_work
from ara.lifecycle.states import TERMINAL
from ara.runtime.automations import schedules, service
from ara.runtime.automations.models import AutomationJob, AutomationRun
from ara.runtime.automations.schemas import AutomationRunRead, JobRead
from ara.server.app import create_app
from ara.settings import Settings
from ara.users.models import User
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.fake_llm import FakeLLM, call, failure, fake_llm, text
from tests.support.runtime_users import ALICE, BOB, seed_runtime_users
from tests.support.server import running_server

TURN = {"kind": "agent_turn", "message": "Say hello"}
ANSWER = "Hello from the scheduled turn"


@dataclass
class Users:
    url: str
    model: FakeLLM
    alice: httpx.Client
    bob: httpx.Client


@contextmanager
def serving(settings: Settings, before: Callable[[int], None] | None = None) -> Iterator[Users]:
    """A real server whose model is a scripted one answering ``ANSWER`` unless told otherwise, and two users with
    a user key each (``before(alice's id)`` runs before the server starts)."""
    users = seed_runtime_users(settings, ALICE, BOB)
    if before is not None:
        before(users[ALICE].user_id)
    with fake_llm(default=text(ANSWER)) as model, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", model.url)  # before the server starts: its executor may run a turn at once
        patch.setenv("OPENAI_API_KEY", "sk-test")
        with running_server(settings) as url:
            clients = [httpx.Client(base_url=url, headers=users[e].headers, timeout=30) for e in (ALICE, BOB)]
            try:
                yield Users(url, model, *clients)
            finally:
                for client in clients:
                    client.close()


@pytest.fixture
def users(sqlite_settings: Settings) -> Iterator[Users]:
    with serving(sqlite_settings) as running:
        yield running


def _exactly(model: type[BaseModel], data: dict[str, Any]) -> None:
    """The documented model (OpenAPI) has exactly the keys the server sends, and validates them."""
    assert set(data) == set(model.model_fields), sorted(set(data) ^ set(model.model_fields))
    model.model_validate(data)


def _job(**overrides: Any) -> dict[str, Any]:
    """The body the 0.1.58 client's ``automation_create_job`` sends."""
    body: dict[str, Any] = {
        "name": "greeter",
        "schedule_kind": "every",
        "every_seconds": 3600,
        "schedule_expr": None,
        "timezone": "UTC",
        "payload": {**TURN, "deliver": True, "channel": "linq"},
        "execution_mode": "sandbox_required",
        "misfire_policy": "fire_latest_only",
        "max_retries": 3,
        "retry_backoff_seconds": 30,
    }
    body.update(overrides)
    return body


def _create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/automations/jobs", json=_job(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json()["job"])


def _runs(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    response = client.get("/automations/runs")
    assert response.status_code == 200, response.text
    return [run for run in response.json()["runs"] if run["automation_id"] == job_id]


def _wait_runs(client: httpx.Client, job_id: str, count: int, *, ended: bool, timeout: float = 20) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs(client, job_id)
        done = [run for run in runs if run["status"] in TERMINAL] if ended else runs
        if len(done) >= count:
            return sorted(done, key=lambda run: run["fire_time"])
        assert time.monotonic() < deadline, f"expected {count} runs, have {runs}"
        time.sleep(0.1)


# -- CRUD and validation over HTTP -----------------------------------------------------------------------------
def test_jobs_are_created_listed_changed_and_deleted_by_their_owner(users: Users) -> None:
    job = _create(users.alice)
    _exactly(JobRead, job)
    assert job["id"].startswith("auto-") and job["enabled"] is True
    assert job["payload"] == {**TURN, "deliver": True, "channel": "linq"}
    created = dt.datetime.fromisoformat(job["created_at"].replace("Z", "+00:00"))
    next_fire = dt.datetime.fromisoformat(job["next_fire_at"].replace("Z", "+00:00"))
    assert abs((next_fire - created).total_seconds() - 3600) < 5
    listed = users.alice.get("/automations/jobs").json()["jobs"]
    assert [(row["id"], row["name"], row["enabled"]) for row in listed] == [(job["id"], "greeter", True)]

    changed = users.alice.patch(f"/automations/jobs/{job['id']}", json={"enabled": False, "name": "quiet"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["job"]["enabled"] is False and changed.json()["job"]["next_fire_at"] is None
    cron = users.alice.patch(
        f"/automations/jobs/{job['id']}",
        json={"schedule_kind": "cron", "schedule_expr": "0 9 * * *", "timezone": "Europe/Paris", "enabled": True},
    ).json()["job"]
    fire = dt.datetime.fromisoformat(cron["next_fire_at"].replace("Z", "+00:00"))
    assert fire > dt.datetime.now(dt.UTC)
    assert (fire.astimezone(ZoneInfo("Europe/Paris")).hour, fire.minute) == (9, 0)
    assert cron["every_seconds"] is None

    # Bob sees none of it and touches none of it.
    assert users.bob.get("/automations/jobs").json()["jobs"] == []
    for method in ("PATCH", "DELETE"):
        response = users.bob.request(method, f"/automations/jobs/{job['id']}", json={"enabled": False})
        assert response.status_code == 404, response.text
    assert users.alice.delete(f"/automations/jobs/{job['id']}").status_code == 200
    assert users.alice.get("/automations/jobs").json()["jobs"] == []
    assert users.alice.delete(f"/automations/jobs/{job['id']}").status_code == 404
    assert httpx.get(users.url + "/automations/jobs").status_code == 401


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"schedule_kind": "cron", "every_seconds": None, "schedule_expr": "61 * * * *"}, "schedule_expr"),
    ({"schedule_kind": "cron", "every_seconds": None, "schedule_expr": None}, "schedule_expr"),
    ({"every_seconds": None}, "every_seconds"),
    ({"every_seconds": 0}, "every_seconds"),
    ({"every_seconds": "²"}, "every_seconds"),  # a digit to str.isdigit, not to int(): a 500 before
    ({"schedule_kind": "at", "every_seconds": None, "at": "2001-01-01T00:00:00Z"}, "at"),
    ({"schedule_kind": "at", "every_seconds": None, "at": "next tuesday"}, "at"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"schedule_kind": "hourly"}, "schedule_kind"),
    ({"payload": {"kind": "app_agent_call", "agent_id": "x"}}, "payload.kind"),
    ({"payload": {"kind": "agent_turn"}}, "payload.message"),
    ({"misfire_policy": "sometimes"}, "misfire_policy"),
    ({"name": "  "}, "name"),
    ({"colour": "blue"}, "colour"),
]


def test_bad_fields_are_refused_naming_the_field(users: Users) -> None:
    for overrides, field in BAD_FIELDS:
        response = users.alice.post("/automations/jobs", json=_job(**overrides))
        assert response.status_code == 400, (overrides, response.text)
        error = response.json()["error"]
        assert field in error["detail"], (overrides, error)
        if field == "payload.kind":
            assert "app agent calls arrive with apps" in error["message"]
    assert users.alice.get("/automations/jobs").json()["jobs"] == []
    response = users.alice.get("/automations/runs", params={"state": "finished"})
    assert response.status_code == 400 and "state" in response.json()["error"]["detail"]
    assert users.alice.get("/automations/runs", params={"state": "completed"}).json()["runs"] == []


# -- the clock, the agents queue and the turn ----------------------------------------------------------------
def _every_second_job(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    return _create(client, every_seconds=1, misfire_policy="fire_all", **overrides)


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _assert_once_per_period(job: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """One run per period, each for its own second from the first firing: none twice, none skipped."""
    start = _moment(job["next_fire_at"])
    assert [_moment(run["fire_time"]) for run in runs] == [start + dt.timedelta(seconds=n) for n in range(len(runs))]


def test_every_job_fires_once_per_period_each_run_a_recorded_chat_turn(users: Users) -> None:
    job = _every_second_job(users.alice)
    _wait_runs(users.alice, job["id"], 2, ended=True)
    users.alice.patch(f"/automations/jobs/{job['id']}", json={"enabled": False})
    runs = _wait_runs(users.alice, job["id"], 2, ended=True)
    _assert_once_per_period(job, runs)
    for run in runs:
        assert run["status"] == "completed" and run["attempt"] == 1 and run["error"] is None, run
        assert run["output"]["text"] == ANSWER and run["output"]["tool_calls"] == []
    # Each turn went to the model with the job's message, in a conversation of its own...
    asked = [seen.messages[-1] for seen in users.model.requests]
    assert asked[: len(runs)] == [{"role": "user", "content": "Say hello"}] * len(runs)
    assert len({run["output"]["conversation_id"] for run in runs}) == len(runs)
    # ...in Alice's session, started for it, and recorded as a play of that session like any chat turn.
    session = users.alice.get("/session/status").json()
    assert session["status"] == "running"
    plays = users.alice.get("/api/v1/plays", params={"name": "chat: Say hello"}).json()["results"]
    assert len(plays) >= len(runs) and all(play["status"] == "completed" for play in plays[: len(runs)])


def test_a_failing_turn_retries_then_fails_with_the_reason(users: Users) -> None:
    users.model.default = failure(503, "the model is overloaded")
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).isoformat()  # still ahead when a loaded machine answers
    job = _create(users.alice, schedule_kind="at", every_seconds=None, at=at, max_retries=2, retry_backoff_seconds=0)
    [run] = _wait_runs(users.alice, job["id"], 1, ended=True)
    assert run["status"] == "failed" and run["attempt"] == 3, run
    assert "503" in run["error"] and "the model is overloaded" in run["error"], run
    assert len(users.model.requests) == 3  # the first attempt and two retries, nothing more
    assert users.alice.get("/automations/runs", params={"state": "failed"}).json()["runs"] == [run]


def test_one_shot_fires_once_then_disables_and_a_run_replays(users: Users) -> None:
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).isoformat()  # still ahead when a loaded machine answers
    job = _create(users.alice, schedule_kind="at", every_seconds=None, at=at)
    [run] = _wait_runs(users.alice, job["id"], 1, ended=True)
    _exactly(AutomationRunRead, run)
    assert run["status"] == "completed" and run["output"]["text"] == ANSWER
    time.sleep(1.2)  # a second tick later, still one run
    assert len(_runs(users.alice, job["id"])) == 1
    [row] = users.alice.get("/automations/jobs").json()["jobs"]
    assert row["enabled"] is False and row["next_fire_at"] is None and row["last_fired_at"] is not None
    again = users.alice.patch(f"/automations/jobs/{job['id']}", json={"enabled": True})
    assert again.status_code == 400 and "at" in again.json()["error"]["detail"]

    assert users.bob.post(f"/automations/runs/{run['id']}/replay", json={}).status_code == 404
    users.model.default = text("Hello again")
    replay = users.alice.post(f"/automations/runs/{run['id']}/replay", json={})
    assert replay.status_code == 201, replay.text
    again = replay.json()["run"]
    assert again["replay_of"] == run["id"] and again["trigger"] == "replay" and again["id"] != run["id"]
    done = {r["id"]: r for r in _wait_runs(users.alice, job["id"], 2, ended=True)}
    assert done[again["id"]]["status"] == "completed" and done[again["id"]]["output"]["text"] == "Hello again"
    assert users.bob.get("/automations/runs").json()["runs"] == []
    assert users.alice.delete(f"/automations/jobs/{job['id']}").status_code == 200
    assert users.alice.get("/automations/runs").json()["runs"] == []  # its history went with it


def test_the_model_schedules_with_the_automation_tools(users: Users) -> None:
    assert users.alice.post("/session/start", json={}).status_code == 200
    arguments = {"name": "standup", "schedule_kind": "cron", "cron": "30 9 * * 1-5", "message": "Plan the day"}
    users.model.script(call("automation_create", arguments), text("Scheduled."))
    answer = users.alice.post("/v1/chat", json={"message": "Remind me every weekday at 9:30"})
    assert answer.status_code == 200, answer.text
    [created] = answer.json()["tool_calls"]
    [job] = users.alice.get("/automations/jobs").json()["jobs"]
    assert created["result"]["id"] == job["id"] and job["schedule_expr"] == "30 9 * * 1-5"
    assert job["payload"] == {"kind": "agent_turn", "message": "Plan the day"}

    # Directly, with the CLI's string arguments; a refusal names the field; Bob cannot touch Alice's job.
    def execute(client: httpx.Client, tool: str, **args: Any) -> dict[str, Any]:
        response = client.post("/session/runtime/tools/execute", json={"tool_name": tool, "args": args})
        assert response.status_code == 200, response.text
        return dict(response.json())

    made = execute(
        users.alice, "automation_create", name="tea", schedule_kind="every", every_seconds="900", message="Tea"
    )
    assert made["ok"] and made["output"]["every_seconds"] == 900
    refused = execute(users.alice, "automation_create", name="x", schedule_kind="every", message="m")
    assert not refused["ok"] and "every_seconds" in refused["error"]
    assert users.bob.post("/session/start", json={}).status_code == 200
    stolen = execute(users.bob, "automation_delete", id=job["id"])
    assert not stolen["ok"] and "no automation job" in stolen["error"]
    paused = execute(users.alice, "automation_update", id=made["output"]["id"], enabled="false", name="tea time")
    assert paused["ok"] and paused["output"]["enabled"] is False and paused["output"]["name"] == "tea time"
    listed = execute(users.alice, "automation_list")["output"]["jobs"]
    assert sorted(row["name"] for row in listed) == ["standup", "tea time"]
    assert execute(users.alice, "automation_delete", id=job["id"])["ok"]
    assert [row["name"] for row in users.alice.get("/automations/jobs").json()["jobs"]] == ["tea time"]


def test_a_restarted_server_fails_what_was_running_and_runs_what_is_due(sqlite_settings: Settings) -> None:
    """What a previous process left: a run it was executing (never re-run: a turn is not idempotent) and a run
    that came due while nobody was there."""
    ids: dict[str, str] = {}

    def left_behind(user_id: int) -> None:
        app = create_app(sqlite_settings, workers=False)
        with unit_of_work(app.state.ara.writer) as session:
            job = service.create_job(session, user_id, _job())
            ids["job"] = job.id
            for status in ("running", "scheduled"):
                run = AutomationRun(automation_id=job.id, user_id=user_id, status=status, worker_id="gone:1")
                session.add(run)
                session.flush()
                ids[status] = run.id
        app.state.ara.engine.dispose()

    with serving(sqlite_settings, before=left_behind) as running:
        runs = {run["id"]: run for run in _wait_runs(running.alice, ids["job"], 2, ended=True)}
    assert runs[ids["running"]]["status"] == "failed" and "not resumed" in runs[ids["running"]]["error"]
    assert runs[ids["scheduled"]]["status"] == "completed" and runs[ids["scheduled"]]["output"]["text"] == ANSWER


# -- firing, straight on the database -------------------------------------------------------------------------
@pytest.fixture
def writer(sqlite_settings: Settings) -> Iterator[Any]:
    app = create_app(sqlite_settings, workers=False)
    with unit_of_work(app.state.ara.writer) as session:
        session.add(User(username="carol@local", password_hash="!", role="viewer", teams=[]))
    yield app.state.ara.writer
    app.state.ara.engine.dispose()


def _carol(session: Any) -> int:
    return int(session.scalar(select(User.id).where(User.username == "carol@local")))


WINTER, SUMMER = dt.datetime(2030, 1, 14, 12, tzinfo=dt.UTC), dt.datetime(2030, 7, 15, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(("when", "utc_hour"), [(WINTER, 8), (SUMMER, 7)])
def test_cron_is_read_in_the_jobs_time_zone_across_daylight_saving(when: dt.datetime, utc_hour: int) -> None:
    fire = schedules.next_after("cron", when, expr="0 9 * * *", every=None, tz="Europe/Paris")
    assert fire == when.replace(day=when.day + 1, hour=utc_hour)  # nine o'clock in Paris, winter and summer


@pytest.mark.parametrize(("policy", "expected"), [("fire_latest_only", 1), ("fire_all", 5), ("skip_if_late", 0)])
def test_missed_firings_follow_the_misfire_policy(writer: Any, policy: str, expected: int) -> None:
    with unit_of_work(writer) as session:
        job = service.create_job(session, _carol(session), _job(every_seconds=200, misfire_policy=policy))
        first = job.next_fire_at
    assert first is not None
    later = first + dt.timedelta(seconds=4 * 200 + 150)  # five firings missed, the latest 150 s ago
    with unit_of_work(writer) as session:
        created = service.fire_due(session, later)
    with unit_of_work(writer) as session:
        runs = session.scalars(select(AutomationRun).order_by(AutomationRun.fire_time)).all()
        assert sorted(run.id for run in runs) == sorted(created) and len(runs) == expected
        if expected:
            assert [run.fire_time for run in runs] == [first + dt.timedelta(seconds=200 * n) for n in range(5)][
                -expected:
            ]
        stored = session.get(AutomationJob, job.id)
        assert stored is not None and stored.next_fire_at == first + dt.timedelta(seconds=1000)
        assert service.fire_due(session, later) == []  # nothing due twice


def test_a_rolled_back_firing_leaves_neither_run_nor_advance(writer: Any) -> None:
    with unit_of_work(writer) as session:
        job_id = service.create_job(session, _carol(session), _job(every_seconds=60)).id
    session = writer()
    try:
        job = session.get(AutomationJob, job_id)
        assert job is not None and job.next_fire_at is not None
        first = job.next_fire_at
        assert len(service.fire_due(session, first + dt.timedelta(seconds=1))) == 1
        session.rollback()
    finally:
        session.close()
    with unit_of_work(writer) as session:
        assert session.scalar(select(func.count()).select_from(AutomationRun)) == 0
        stored = session.get(AutomationJob, job_id)
        assert stored is not None and stored.next_fire_at == first and stored.last_fired_at is None


@pytest.mark.postgres
def test_every_job_fires_on_the_procrastinate_agents_queue(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        settings = make_settings(tmp_path, url, engine={"poll_interval": 0.1})
        with serving(settings) as running:
            job = _every_second_job(running.alice)
            _wait_runs(running.alice, job["id"], 2, ended=True, timeout=30)
            running.alice.patch(f"/automations/jobs/{job['id']}", json={"enabled": False})
            runs = _wait_runs(running.alice, job["id"], 2, ended=True)
            _assert_once_per_period(job, runs)
            for run in runs:
                assert run["status"] == "completed" and run["output"]["text"] == ANSWER, run
