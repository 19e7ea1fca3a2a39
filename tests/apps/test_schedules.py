"""App schedules: read from the manifest at each deploy (kept, re-timed or deleted by id), refused when bad (a
400 naming the field), and fired by the clock: the latest missed firing only, exactly once however many clocks
run, one-shots disabled after their firing."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ara.apps.models import App, AppSchedule
from ara.apps.schedules import declared, sync_schedules
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.errors import ValidationFailed
from ara.settings import Settings
from ara.users.models import User
from tests.conftest import make_settings

SAMPLE = Path(__file__).parent / "data" / "control_manifest.json"  # what ara-sdk 0.1.46 sends for data/control_app.py
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
        (
            lambda s: s.update(run={"type": "tool", "tool_name": "add", "args": {}}),
            "agent.agents.0.schedules.0.run.type",
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
