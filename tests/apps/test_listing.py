"""What the apps and chat pages list, on both databases: an app's runs a page at a time (newest first, the count
of all), its schedules soonest first, a user's latest chats and the end of a chat (anyone else's chat is 404)."""

from __future__ import annotations

import datetime as dt

import pytest

from ara.apps import schedules as app_schedules
from ara.apps.listing import list_schedules, page_of_runs
from ara.apps.models import AppRun
from ara.db.session import unit_of_work
from ara.errors import NotFound
from ara.runtime.agent.conversations import (
    append_messages,
    last_messages,
    open_conversation,
    recent_conversations,
)
from ara.runtime.sessions import start_session
from ara.server.app import create_app
from ara.settings import Settings
from tests.apps.support import add_app
from tests.support.runtime_users import ALICE, BOB, seed_runtime_users

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_runs_page_newest_first_and_schedules_soonest_first(settings: Settings) -> None:
    users = seed_runtime_users(settings)
    app = create_app(settings, workers=False)
    try:
        with unit_of_work(app.state.ara.writer) as session:
            made = add_app(session, users[ALICE].user_id)
            app_schedules.sync_schedules(session, made, now=T0)
            for number in range(7):
                session.add(
                    AppRun(
                        app_id=made.id,
                        run_id=f"run-{number}",
                        agent_id="digest",
                        status="completed",
                        created_at=T0 + dt.timedelta(minutes=number),
                    )
                )
            app_id = made.id
        with unit_of_work(app.state.ara.reader) as session:
            first, total = page_of_runs(session, app_id, page=1, size=3)
            last, _ = page_of_runs(session, app_id, page=3, size=3)
            beyond, _ = page_of_runs(session, app_id, page=9, size=3)
            rows = list_schedules(session, app_id)
        assert total == 7
        assert [run.run_id for run in first] == ["run-6", "run-5", "run-4"]
        assert [run.run_id for run in last] == ["run-0"] and beyond == []
        assert [row.schedule_id for row in rows][0] == "digest-every-120s"  # fires at 12:02, before 09:30 tomorrow
        fires = [row.next_fire_at for row in rows if row.next_fire_at is not None]
        assert fires == sorted(fires)
    finally:
        app.state.ara.engine.dispose()


def test_chats_list_latest_first_and_a_page_shows_the_end_of_a_chat(settings: Settings) -> None:
    users = seed_runtime_users(settings)
    app = create_app(settings, workers=False)
    alice, bob = users[ALICE].user_id, users[BOB].user_id
    try:
        with unit_of_work(app.state.ara.writer) as session:
            runtime = start_session(session, settings, alice).id
            older = open_conversation(session, user_id=alice, chat_id="older", session_id=runtime)
            append_messages(session, older.id, [{"role": "user", "content": "first"}])
        with unit_of_work(app.state.ara.writer) as session:
            newer = open_conversation(session, user_id=alice, chat_id="newer", session_id=runtime)
            append_messages(session, newer.id, [{"role": "user", "content": f"m{n}"} for n in range(10)])
        with unit_of_work(app.state.ara.reader) as session:
            listed = [chat.id for chat in recent_conversations(session, alice, limit=5)]
            tail = [m["content"] for m in last_messages(session, alice, "newer", limit=3)]
            assert recent_conversations(session, bob, limit=5) == []
            assert last_messages(session, alice, "nobody-has-it", limit=3) == []
            with pytest.raises(NotFound):
                last_messages(session, bob, "newer", limit=3)
        assert listed == ["newer", "older"]
        assert tail == ["m7", "m8", "m9"]
    finally:
        app.state.ara.engine.dispose()
