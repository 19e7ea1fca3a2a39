"""Stored chats on both databases: a chat id belongs to one user, and two turns of one chat appending at the same
time both land, in order, without a seq collision (the conversation's row lock)."""

from __future__ import annotations

import threading

import pytest

from ara.db.session import unit_of_work
from ara.errors import NotFound
from ara.runtime.agent.conversations import append_messages, load_messages, open_conversation
from ara.runtime.sessions import start_session
from ara.server.app import create_app
from ara.settings import Settings
from tests.support.runtime_users import ALICE, BOB, seed_runtime_users


def test_chats_are_their_owners_and_concurrent_appends_keep_order(settings: Settings) -> None:
    users = seed_runtime_users(settings)
    app = create_app(settings, workers=False)
    writer = app.state.ara.writer
    try:
        with unit_of_work(writer) as session:
            alice, bob = (start_session(session, settings, users[e].user_id).id for e in (ALICE, BOB))
        with unit_of_work(writer) as session:
            chat = open_conversation(session, user_id=users[ALICE].user_id, chat_id="shared-name", session_id=alice)
            made = open_conversation(session, user_id=users[BOB].user_id, chat_id=None, session_id=bob).id
        with pytest.raises(NotFound), unit_of_work(writer) as session:
            open_conversation(session, user_id=users[BOB].user_id, chat_id="shared-name", session_id=bob)
        assert made.startswith("conv-") and made != chat.id

        def turn(name: str) -> None:
            for number in range(15):
                with unit_of_work(writer) as session:
                    append_messages(session, chat.id, [{"role": "user", "content": f"{name}{number}"}])

        threads = [threading.Thread(target=turn, args=(name,)) for name in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with unit_of_work(app.state.ara.reader) as session:
            stored = [m["content"] for m in load_messages(session, chat.id)]
        assert sorted(stored) == sorted(f"{n}{i}" for n in "ab" for i in range(15))
        for name in "ab":  # each writer's messages in the order it wrote them
            assert [m for m in stored if m.startswith(name)] == [f"{name}{i}" for i in range(15)]
    finally:
        app.state.ara.engine.dispose()
