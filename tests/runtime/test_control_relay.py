"""The control channel across two API hosts on one PostgreSQL database: a page holds its WebSocket on host A and
the calls and listings that reach host B are relayed to it (LISTEN/NOTIFY plus ``runtime_control_*`` rows)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from sqlalchemy import select, text
from websockets.sync.client import connect

from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from ara.runtime.models import ControlCallRow, ControlPeer
from ara.settings import Settings
from tests.conftest import make_settings
from tests.runtime.test_control import ACTIONS, actions, app_client, call
from tests.support.databases import fresh_postgres_database
from tests.support.runtime_sessions import SessionUser, session_users
from tests.support.server import running_server

pytestmark = pytest.mark.postgres
NAMES = [action["name"] for action in ACTIONS]
HEARTBEAT = 0.5  # a page's row counts for three beats after its last: the tests outlive that


class Hosts(NamedTuple):
    a: str
    b: str
    settings: Settings
    alice: SessionUser
    bob: SessionUser


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosts]:
    base = tmp_path_factory.mktemp("relay")
    shared = str(base / "sessions")
    with fresh_postgres_database() as url:
        made = [
            make_settings(
                base / name,
                url,
                engine={"workers": 0},
                runtime={"sessions_dir": shared, "control_heartbeat_seconds": HEARTBEAT},
            )
            for name in ("host-a", "host-b")
        ]
        users = session_users(made[0], "alice@example.org", "bob@example.org")
        with running_server(made[0]) as host_a, running_server(made[1]) as host_b:
            yield Hosts(host_a, host_b, made[0], users["alice@example.org"], users["bob@example.org"])


def rows(settings: Settings, model: type[ControlPeer] | type[ControlCallRow]) -> list[object]:
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


def test_a_call_on_host_b_reaches_the_page_on_host_a(hosts: Hosts) -> None:
    a, b, alice = hosts.a, hosts.b, hosts.alice
    assert actions(b, alice, alice.session_id).json()["actions"] == []
    with app_client(a, alice):
        listed = actions(b, alice, alice.session_id).json()["actions"]
        assert [action["name"] for action in listed] == NAMES and listed[0] == ACTIONS[0]

        done = call(b, alice, {"session_id": alice.session_id, "action": "set_title", "args": {"title": "via b"}})
        assert done.status_code == 200, done.text
        assert done.json() == {
            "ok": True,
            "session_id": alice.session_id,
            "action": "set_title",
            "result": {"title": "VIA B"},
        }
        failed = call(b, alice, {"action": "explode", "args": {"what": "moon"}})
        assert (failed.status_code, failed.json()["ok"], failed.json()["error"]) == (200, False, "cannot explode moon")
        local = call(a, alice, {"action": "set_title", "args": {"title": "on a"}})
        assert local.json()["result"] == {"title": "ON A"}

        unknown = call(b, alice, {"session_id": alice.session_id, "action": "nope", "args": {}})
        assert unknown.status_code == 409 and "'nope'" in unknown.json()["error"]["message"]

        started = time.monotonic()
        late = call(b, alice, {"session_id": alice.session_id, "action": "sleep", "args": {}, "timeout_ms": 500})
        assert late.status_code == 504 and "500 ms" in late.json()["error"]["message"], late.text
        assert 0.5 <= time.monotonic() - started < 10
        # Bob reaches neither Alice's actions nor her page through the other host.
        assert actions(b, hosts.bob, alice.session_id).status_code == 404
        assert call(b, hosts.bob, {"session_id": alice.session_id, "action": "set_title"}).status_code == 404
        assert call(b, hosts.bob, {"action": "set_title"}).status_code == 409
    # The page left host A: host B lists nothing and answers 409; no relayed call is left behind.
    deadline = time.monotonic() + 10
    while actions(b, alice, alice.session_id).json()["actions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert actions(b, alice, alice.session_id).json()["actions"] == []
    gone = call(b, alice, {"session_id": alice.session_id, "action": "set_title", "args": {"title": "x"}})
    assert gone.status_code == 409 and "no control client is connected" in gone.json()["error"]["message"]
    assert rows(hosts.settings, ControlPeer) == [] and rows(hosts.settings, ControlCallRow) == []


def test_a_dead_hosts_peers_stop_counting(hosts: Hosts) -> None:
    """A host that died without removing its rows: once their heartbeat is older than three beats, they are
    neither listed nor called."""
    bob = hosts.bob
    engine = make_engine(hosts.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            beat = utcnow() - dt.timedelta(seconds=hosts.settings.runtime.control_heartbeat_seconds * 3 + 5)
            session.add(
                ControlPeer(
                    id="peer-dead",
                    session_id=bob.session_id,
                    host="ara_control_gone",
                    actions=[ACTIONS[0]],
                    heartbeat_at=beat,
                )
            )
        assert actions(hosts.b, bob, bob.session_id).json()["actions"] == []
        refused = call(hosts.b, bob, {"action": "set_title", "args": {"title": "x"}})
        assert refused.status_code == 409, refused.text
        with unit_of_work(make_sessionmaker(engine)) as session:
            session.get_one(ControlPeer, "peer-dead").heartbeat_at = utcnow()
        # The same row beating again counts: B lists it (the call itself would wait for a host that is not there).
        assert [item["name"] for item in actions(hosts.b, bob, bob.session_id).json()["actions"]] == ["set_title"]
        with unit_of_work(make_sessionmaker(engine)) as session:
            session.delete(session.get_one(ControlPeer, "peer-dead"))
    finally:
        engine.dispose()


def test_a_page_that_leaves_during_a_relayed_call_fails_it_at_once(hosts: Hosts) -> None:
    """The call's holder writes the page's departure on the row: host B answers 409, not a 504 at the time-out."""
    alice = hosts.alice
    url = hosts.a.replace("http://", "ws://") + f"/session/runtime/control/ws?session_id={alice.session_id}"
    with connect(url, additional_headers=alice.headers) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps({"type": "register", "actions": [{"name": "leave"}]}))
        ws.recv(timeout=10)

        def leave_on_call() -> None:
            for raw in ws:
                if json.loads(raw)["type"] == "call":
                    ws.close()

        thread = threading.Thread(target=leave_on_call, daemon=True)
        thread.start()
        started = time.monotonic()
        left = call(hosts.b, alice, {"action": "leave", "args": {}, "timeout_ms": 20_000})
        assert left.status_code == 409 and "disconnected" in left.json()["error"]["message"], left.text
        assert time.monotonic() - started < 15
        thread.join(timeout=10)


def test_a_connected_page_keeps_beating_and_survives_a_lost_listener(hosts: Hosts) -> None:
    """Past three heartbeats host A's page still counts for host B; and when A's LISTEN connection is cut
    (a database restart, a proxy), A listens again and relayed calls reach the page once more."""
    alice, b = hosts.alice, hosts.b
    with app_client(hosts.a, alice):
        time.sleep(HEARTBEAT * 5)
        assert [item["name"] for item in actions(b, alice, alice.session_id).json()["actions"]] == NAMES
        engine = make_engine(hosts.settings)
        try:
            with engine.connect() as connection:
                cut = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND query LIKE 'LISTEN \"ara\\_control\\_%'"
                    )
                ).all()
        finally:
            engine.dispose()
        assert len(cut) == 2  # one listener per API host
        deadline = time.monotonic() + 20
        while True:
            done = call(b, alice, {"action": "set_title", "args": {"title": "again"}, "timeout_ms": 1000})
            if done.status_code == 200 or time.monotonic() > deadline:
                break
        assert done.status_code == 200 and done.json()["result"] == {"title": "AGAIN"}, done.text


def test_a_live_host_drops_rows_of_pages_it_no_longer_holds(hosts: Hosts) -> None:
    """A row whose removal failed (the database was away when the page left) names a live host: that host's
    next heartbeat removes it rather than keeping it alive."""
    engine = make_engine(hosts.settings)
    try:
        with engine.connect() as connection:
            listening = connection.execute(
                text(
                    "SELECT query FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN \"ara\\_control\\_%'"
                )
            ).scalars()
            channels = sorted({query.split('"')[1] for query in listening})
        assert len(channels) == 2
        with unit_of_work(make_sessionmaker(engine)) as session:
            long_ago = utcnow() - dt.timedelta(minutes=1)
            for index, channel in enumerate(channels):
                session.add(
                    ControlPeer(
                        id=f"peer-orphan-{index}",
                        session_id=hosts.bob.session_id,
                        host=channel,
                        actions=[ACTIONS[0]],
                        connected_at=long_ago,
                    )
                )
        deadline = time.monotonic() + 10
        while rows(hosts.settings, ControlPeer) and time.monotonic() < deadline:
            time.sleep(HEARTBEAT / 2)
        assert rows(hosts.settings, ControlPeer) == []
    finally:
        engine.dispose()
