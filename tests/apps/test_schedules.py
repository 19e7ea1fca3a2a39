"""App schedules: read from the manifest at each deploy (kept, re-timed or deleted by id), refused when bad (a
400 naming the field), and fired by the clock: the latest missed firing only, exactly once however many clocks
run, one-shots disabled after their firing."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ara.apps.models import App, AppRun, AppSchedule
from ara.apps.schedules import any_due, declared, fire_due, firing_input, scheduled_tool, sync_schedules
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import iso, utcnow
from ara.errors import ValidationFailed
from ara.lifecycle.states import TERMINAL
from ara.settings import Settings
from ara.users.models import User
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.fake_llm import fake_llm, text
from tests.support.runtime_users import ALICE, seed_runtime_users
from tests.support.server import running_server

# What ara-sdk 0.1.46 sends for tests/compat/sdk_apps/digest_bot.py.
SAMPLE = Path(__file__).parent / "data" / "control_manifest.json"
T0 = dt.datetime(2026, 12, 1, 8, 0, 0, tzinfo=dt.UTC)


def sample() -> dict[str, Any]:
    """The manifest the real ara-sdk 0.1.46 makes of its sample app (every-120 s, a daily 09:30 and a one-shot)."""
    manifest: dict[str, Any] = json.loads(SAMPLE.read_text())
    return manifest


def schedules_of(manifest: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    return next(row for row in manifest["agent"]["agents"] if row["id"] == agent_id)["schedules"]


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    settings: Settings = make_settings(tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    yield make_sessionmaker(engine, write=True)
    engine.dispose()


def new_app(session: Session, manifest: dict[str, Any], slug: str = "digest-bot") -> App:
    owner = User(username=f"{slug}@example.org", password_hash="!", role="viewer", teams=[])
    session.add(owner)
    session.flush()
    app = App(owner_id=owner.id, slug=slug, name=slug, status="active", manifest=manifest)
    session.add(app)
    session.flush()
    return app


def rows(session: Session, app_id: str) -> dict[str, AppSchedule]:
    found = session.scalars(select(AppSchedule).where(AppSchedule.app_id == app_id))
    return {row.schedule_id: row for row in found}


def test_a_deploy_reads_every_agents_schedules(writer: sessionmaker[Session]) -> None:
    with unit_of_work(writer) as session:
        app = new_app(session, sample())
        sync_schedules(session, app, T0)
        found = rows(session, app.id)
    assert set(found) == {"digest-every-120s", "morning--09-30", "morning--2030-01-01t10-00-00z"}
    every, daily, once = found["digest-every-120s"], found["morning--09-30"], found["morning--2030-01-01t10-00-00z"]
    assert (every.kind, every.every_seconds, every.agent_id) == ("every", 120, "digest")
    assert every.next_fire_at == T0 + dt.timedelta(seconds=120)
    assert every.run == {"type": "agent", "agent_id": "digest", "input": {"x": 1}}
    assert (daily.kind, daily.cron, daily.timezone) == ("cron", "30 9 * * *", "UTC")
    assert daily.next_fire_at == T0.replace(hour=9, minute=30)
    assert once.one_shot_at == dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC)
    assert once.next_fire_at == once.one_shot_at and once.enabled


def test_cron_is_read_in_its_time_zone(writer: sessionmaker[Session]) -> None:
    manifest = sample()
    schedules_of(manifest, "morning")[0]["timezone"] = "Europe/Paris"  # 09:30 in Paris is 08:30 UTC in December
    with unit_of_work(writer) as session:
        app = new_app(session, manifest)
        sync_schedules(session, app, T0)
        assert rows(session, app.id)["morning--09-30"].next_fire_at == T0.replace(hour=8, minute=30)


def test_the_0158_cli_managed_schedule_is_read_like_any_other(writer: sessionmaker[Session]) -> None:
    """``ara deploy job_app.py --cron "0 9 * * *" --timezone Europe/Paris`` (0.1.58) adds this entry to the
    entrypoint agent only, with no workflow row."""
    manifest = sample()
    schedules_of(manifest, "digest")[:] = [
        {
            "id": "cli-managed-schedule",
            "kind": "cron",
            "cron": "0 9 * * *",
            "timezone": "Europe/Paris",
            "run": {"type": "agent", "agent_id": "digest", "input": {"trigger": "schedule", "source": "ara-cli"}},
        }
    ]
    with unit_of_work(writer) as session:
        app = new_app(session, manifest)
        sync_schedules(session, app, T0)
        row = rows(session, app.id)["cli-managed-schedule"]
    assert (row.agent_id, row.cron, row.timezone) == ("digest", "0 9 * * *", "Europe/Paris")
    assert row.next_fire_at == T0 + dt.timedelta(days=1)  # 09:00 in Paris is 08:00 UTC (T0): the next is tomorrow
    assert row.run["input"] == {"trigger": "schedule", "source": "ara-cli"}


def test_a_redeploy_keeps_unchanged_timing_and_retimes_changed_ones(writer: sessionmaker[Session]) -> None:
    later = T0 + dt.timedelta(seconds=90)
    with unit_of_work(writer) as session:
        app = new_app(session, sample())
        sync_schedules(session, app, T0)
        changed = sample()
        schedules_of(changed, "digest")[0]["run"]["input"] = {"x": 2}  # same timing, another input
        schedules_of(changed, "morning")[0]["cron"] = "45 9 * * *"  # same id, another time
        del schedules_of(changed, "morning")[1]  # the one-shot is gone
        app.manifest = changed
        sync_schedules(session, app, later)
        found = rows(session, app.id)
    assert set(found) == {"digest-every-120s", "morning--09-30"}
    assert found["digest-every-120s"].next_fire_at == T0 + dt.timedelta(seconds=120)  # not reset to later + 120
    assert found["digest-every-120s"].run["input"] == {"x": 2}
    assert found["morning--09-30"].next_fire_at == T0.replace(hour=9, minute=45)


def test_a_spent_one_shot_stays_spent_across_redeploys(writer: sessionmaker[Session]) -> None:
    manifest = sample()
    past = schedules_of(manifest, "morning")[1]
    past["one_shot_at"] = "2026-11-30T10:00:00Z"  # before T0: it never fires
    with unit_of_work(writer) as session:
        app = new_app(session, manifest)
        sync_schedules(session, app, T0)
        once = rows(session, app.id)[past["id"]]
        assert (once.enabled, once.next_fire_at) == (False, None)
        app.manifest = copy.deepcopy(manifest)
        sync_schedules(session, app, T0)
        assert rows(session, app.id)[past["id"]].enabled is False


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda s: s.update(every_seconds=30), "agent.agents.0.schedules.0.every_seconds"),
        (lambda s: s.update(every_seconds="120"), "agent.agents.0.schedules.0.every_seconds"),
        (lambda s: s.update(kind="hourly"), "agent.agents.0.schedules.0.kind"),
        (lambda s: s.update(run={"type": "workflow", "id": "w"}), "agent.agents.0.schedules.0.run.type"),
        (
            lambda s: s.update(run={"type": "tool", "tool_name": "subtract", "args": {}}),
            "agent.agents.0.schedules.0.run.tool_name",
        ),
        (
            lambda s: s.update(run={"type": "tool", "tool_name": "add", "args": [1, 2]}),
            "agent.agents.0.schedules.0.run.args",
        ),
        (
            lambda s: s.update(run={"type": "agent", "agent_id": "nobody"}),
            "agent.agents.0.schedules.0.run.agent_id",
        ),
        (
            lambda s: s.update(kind="cron", cron="61 * * * *"),
            "agent.agents.0.schedules.0.cron",
        ),
        (
            lambda s: s.update(kind="cron", cron="0 " + ",".join(["1"] * 200) + " * * *"),
            "agent.agents.0.schedules.0.cron",
        ),
        (
            lambda s: s.update(kind="cron", cron="0 9 * * *", timezone="Mars/Base"),
            "agent.agents.0.schedules.0.timezone",
        ),
        (
            lambda s: s.update(kind="cron", cron="0 9 * * *", one_shot_at="tomorrow"),
            "agent.agents.0.schedules.0.one_shot_at",
        ),
    ],
)
def test_a_bad_schedule_is_refused_naming_its_field(edit: Any, field: str) -> None:
    manifest = sample()
    edit(schedules_of(manifest, "digest")[0])
    with pytest.raises(ValidationFailed) as caught:
        declared(manifest)
    assert list(caught.value.detail) == [field]


def test_two_schedules_with_one_id_are_refused() -> None:
    manifest = sample()
    schedules_of(manifest, "morning").append(copy.deepcopy(schedules_of(manifest, "digest")[0]))
    with pytest.raises(ValidationFailed) as caught:
        declared(manifest)
    assert list(caught.value.detail) == ["agent.agents.2.schedules.2.id"]


# -- firing -----------------------------------------------------------------------------------------------------
def schedule_runs(session: Session, app_id: str) -> list[AppRun]:
    query = select(AppRun).where(AppRun.app_id == app_id, AppRun.trigger == "schedule").order_by(AppRun.created_at)
    return list(session.scalars(query))


def only_every(manifest: dict[str, Any]) -> dict[str, Any]:
    """The sample with its every-120 s schedule only (the daily and the one-shot removed)."""
    schedules_of(manifest, "morning").clear()
    return manifest


def test_after_downtime_only_the_latest_missed_firing_runs(writer: sessionmaker[Session]) -> None:
    settings = Settings()
    with unit_of_work(writer) as session:
        app = new_app(session, only_every(sample()))
        sync_schedules(session, app, T0)
        app_id = app.id
    down_until = T0 + dt.timedelta(seconds=1000)  # firings due at +120, +240 ... +960 were missed
    with unit_of_work(writer) as session:
        assert any_due(session, down_until)
        assert fire_due(session, down_until, settings=settings) == 1
    with unit_of_work(writer) as session:
        assert fire_due(session, down_until, settings=settings) == 0  # nothing due any more
        (run,) = schedule_runs(session, app_id)
        row = rows(session, app_id)["digest-every-120s"]
    assert run.agent_id == "digest"
    assert run.input == {"x": 1, "schedule_id": "digest-every-120s", "fire_time": "2026-12-01T08:16:00Z"}
    assert row.last_fired_at == T0 + dt.timedelta(seconds=960)
    assert row.next_fire_at == T0 + dt.timedelta(seconds=1080)  # the period keeps its phase


def test_a_one_shot_fires_once_then_disables_itself(writer: sessionmaker[Session]) -> None:
    settings = Settings()
    manifest = sample()
    schedules_of(manifest, "digest").clear()
    schedules_of(manifest, "morning")[:] = [
        {
            "id": "once",
            "kind": "cron",
            "cron": "10 8 1 12 *",
            "timezone": "UTC",
            "one_shot_at": "2026-12-01T08:00:10Z",
            "run": {"type": "agent", "agent_id": "morning"},
        }
    ]
    with unit_of_work(writer) as session:
        app = new_app(session, manifest)
        sync_schedules(session, app, T0)
        app_id = app.id
    # a year on, its cron (the SDK's rendering of the moment) would match again: a spent one-shot stays spent
    for seconds, started in ((5, 0), (11, 1), (12, 0), (3600, 0), (366 * 86400, 0)):
        with unit_of_work(writer) as session:
            assert fire_due(session, T0 + dt.timedelta(seconds=seconds), settings=settings) == started, seconds
    with unit_of_work(writer) as session:
        once = rows(session, app_id)["once"]
        runs = schedule_runs(session, app_id)
    assert (once.enabled, once.next_fire_at, once.last_fired_at) == (False, None, T0 + dt.timedelta(seconds=10))
    assert [run.input["fire_time"] for run in runs] == ["2026-12-01T08:00:10Z"]


@pytest.mark.parametrize("status", ["paused", "draft"])
def test_a_paused_or_draft_app_lets_its_firings_pass_without_a_run(writer: sessionmaker[Session], status: str) -> None:
    with unit_of_work(writer) as session:
        app = new_app(session, only_every(sample()))
        sync_schedules(session, app, T0)
        app.status = status
        app_id = app.id
    later = T0 + dt.timedelta(seconds=500)
    with unit_of_work(writer) as session:
        assert fire_due(session, later, settings=Settings()) == 0
        assert rows(session, app_id)["digest-every-120s"].next_fire_at == T0 + dt.timedelta(seconds=600)
        session.get(App, app_id).status = "active"  # type: ignore[union-attr]
    with unit_of_work(writer) as session:  # resumed: nothing missed while paused fires, the next firing does
        assert fire_due(session, later + dt.timedelta(seconds=10), settings=Settings()) == 0
        assert fire_due(session, T0 + dt.timedelta(seconds=600), settings=Settings()) == 1
        assert [run.input["fire_time"] for run in schedule_runs(session, app_id)] == ["2026-12-01T08:10:00Z"]


@pytest.mark.postgres
def test_two_clocks_fire_each_schedule_exactly_once_on_postgres(tmp_path: Path) -> None:
    """Two engine contexts (two workers' clocks) fire the same due schedules at the same moment."""
    manifest = sample()
    schedules_of(manifest, "morning").clear()
    schedules_of(manifest, "digest")[:] = [
        {"id": f"every-{n}", "kind": "every", "every_seconds": 60, "run": {"type": "agent", "agent_id": "digest"}}
        for n in range(20)
    ]
    with fresh_postgres_database() as url:
        settings = make_settings(tmp_path, url)
        engines = [make_engine(settings) for _ in range(2)]
        upgrade(engines[0])
        writers = [make_sessionmaker(engine, write=True) for engine in engines]
        try:
            with unit_of_work(writers[0]) as session:
                app = new_app(session, manifest)
                sync_schedules(session, app, T0)
                app_id = app.id
            start = threading.Barrier(2)
            now = T0 + dt.timedelta(seconds=61)

            def clock(writer: sessionmaker[Session]) -> int:
                with unit_of_work(writer) as session:
                    start.wait(timeout=30)
                    return fire_due(session, now, settings=settings)

            with ThreadPoolExecutor(2) as pool:
                fired = list(pool.map(clock, writers))
            with unit_of_work(writers[0]) as session:
                runs = schedule_runs(session, app_id)
                planned = {row.next_fire_at for row in rows(session, app_id).values()}
        finally:
            for engine in engines:
                engine.dispose()
    assert sum(fired) == 20
    assert sorted(run.input["schedule_id"] for run in runs) == sorted(f"every-{n}" for n in range(20))
    assert planned == {T0 + dt.timedelta(seconds=120)}


def test_over_a_real_server_a_one_shot_fires_once_and_a_redeploy_keeps_every_timing(
    tmp_path: Path, database_url: str
) -> None:
    """On SQLite the embedded executor's clock fires; on PostgreSQL procrastinate's (one tick per second, the
    server's own worker executes)."""
    settings = make_settings(tmp_path, database_url)
    owner = seed_runtime_users(settings, ALICE)[ALICE]
    headers = {**owner.headers, "Content-Type": "application/json"}
    doc = sample()
    doc["slug"] = "schedule-bot"
    engine = make_engine(settings)
    reader = make_sessionmaker(engine, write=False)
    with fake_llm(default=text("Good morning.")) as model, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "sk-test")
        with running_server(settings) as url:
            bad = copy.deepcopy(doc)
            schedules_of(bad, "digest")[0]["run"] = {"type": "tool", "tool_name": "nope", "args": {}}
            refused = httpx.post(f"{url}/apps", json=bad, headers=headers, timeout=30)
            assert refused.status_code == 400, refused.text
            assert list(refused.json()["error"]["detail"]) == ["agent.agents.0.schedules.0.run.tool_name"]
            soon = (utcnow() + dt.timedelta(seconds=4)).replace(microsecond=0)  # a moment after the deploy
            schedules_of(doc, "morning")[:] = [
                {
                    "id": "soon",
                    "kind": "cron",
                    "cron": f"{soon.minute} {soon.hour} {soon.day} {soon.month} *",
                    "timezone": "UTC",
                    "one_shot_at": iso(soon),
                    "run": {"type": "agent", "agent_id": "morning"},
                }
            ]
            schedules_of(doc, "digest").append(  # a scheduled tool (invoke.tool), hung on the default agent
                {
                    **schedules_of(doc, "morning")[0],
                    "id": "add-soon",
                    "run": {"type": "tool", "tool_name": "add", "args": {"a": 2, "b": 3}},
                }
            )
            # active at once: the one-shot's moment may come before a separate activation would
            created = httpx.post(f"{url}/apps", json={**doc, "status": "active"}, headers=headers, timeout=30)
            assert created.status_code == 201, created.text
            app_id = created.json()["app"]["id"]
            with unit_of_work(reader) as session:
                planned = rows(session, app_id)["digest-every-120s"].next_fire_at
            # the SDK's redeploy: the whole manifest but the slug, and status active (a new app starts as a draft)
            redeploy = {key: value for key, value in doc.items() if key != "slug"} | {"description": "again"}
            redeploy["status"] = "active"
            assert httpx.patch(f"{url}/apps/{app_id}", json=redeploy, headers=headers, timeout=30).status_code == 200
            with unit_of_work(reader) as session:
                assert rows(session, app_id)["digest-every-120s"].next_fire_at == planned  # not reset by the redeploy
            deadline = time.monotonic() + 90
            while True:
                with unit_of_work(reader) as session:
                    runs = schedule_runs(session, app_id)
                if len(runs) == 2 and all(run.status in TERMINAL for run in runs):
                    break
                assert time.monotonic() < deadline, [run.status for run in runs]
                time.sleep(0.2)
            time.sleep(2)  # two more clock ticks: nothing fires again
            with unit_of_work(reader) as session:
                runs = schedule_runs(session, app_id)
                once = rows(session, app_id)["soon"]
            asked = len(model.requests)
    engine.dispose()
    fired = {run.input["schedule_id"]: run for run in runs}
    assert sorted(fired) == ["add-soon", "soon"]
    agent, tool = fired["soon"], fired["add-soon"]
    assert (agent.agent_id, agent.status, agent.input["fire_time"]) == ("morning", "completed", iso(soon))
    assert agent.output is not None and agent.output["output_text"] == "Good morning."
    # the scheduled tool ran its source in the sandbox, without the model (one model call: the agent's)
    assert (tool.agent_id, tool.status) == ("digest", "completed"), tool.error
    assert tool.output is not None and tool.output["output_text"] == "5"
    assert [(call["name"], call["arguments"]) for call in tool.output["tool_calls"]] == [("add", {"a": 2, "b": 3})]
    assert asked == 1
    assert (once.enabled, once.last_fired_at) == (False, soon)


def test_only_a_scheduled_run_may_call_a_tool_directly() -> None:
    """The scheduled tool travels in the run's input; an API caller who writes the same input gets the agent."""
    run_input = firing_input({"type": "tool", "tool_name": "add", "args": {"a": 1, "b": 2}})
    assert scheduled_tool("schedule", run_input) == ("add", {"a": 1, "b": 2})
    for trigger in ("api", "async", "event", "endpoint"):
        assert scheduled_tool(trigger, run_input) is None
    assert scheduled_tool("schedule", firing_input({"type": "agent", "agent_id": "digest", "input": {"x": 1}})) is None
