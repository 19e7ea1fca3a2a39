"""Who may call the invoke routes (``invoke_caller``): an app's own runtime key (Bearer) or header key
(``X-Ara-App-Key``), or a member's user key from operator up; each key's ``requests_per_minute`` counted in the
database, so the limit holds for concurrent requests through separate API hosts (engines), on SQLite and
PostgreSQL; and two hosts deploying one new slug at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from ara.apps import keys
from ara.apps.access import Caller, invoke_caller
from ara.apps.models import App, AppKey, AppKeyUsage, AppMember
from ara.apps.service import create_app as deploy
from ara.crypto import SecretBox
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.errors import AlreadyExists, NotFound, PermissionDenied, RateLimited, Unauthenticated
from ara.server.errors import error_response
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.runtime_users import ALICE, BOB, RuntimeUser, seed_runtime_users

DATA = Path(__file__).parent / "data"
CAROL = "carol@example.org"
NOON = dt.datetime(2026, 12, 1, 12, 0, 5, tzinfo=dt.UTC)


@dataclass
class World:
    settings: Settings
    users: dict[str, RuntimeUser]
    app_id: str
    other_app_id: str
    engine: Engine

    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine, write=True)

    def mint(self, kind: str, rpm: int = 60, app_id: str | None = None) -> str:
        with unit_of_work(self.sessions()) as session:
            key, _ = keys.mint(session, app_id or self.app_id, kind, name="k", rpm=rpm, user_id=None)
        return key

    def call(self, *, bearer: str | None = None, app_key: str | None = None, now: dt.datetime = NOON) -> Caller:
        with unit_of_work(self.sessions()) as session:
            authorization = f"Bearer {bearer}" if bearer else None
            return invoke_caller(session, self.app_id, authorization=authorization, app_key=app_key, now=now)


@contextmanager
def _world(settings: Settings) -> Iterator[World]:
    users = seed_runtime_users(settings, ALICE, BOB, CAROL)
    manifest = json.loads((DATA / "control_manifest.json").read_text())
    box = SecretBox.from_settings(settings)
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=True)) as session:
            app = deploy(session, settings, box, users[ALICE].user_id, manifest)
            other = deploy(session, settings, box, users[CAROL].user_id, {**manifest, "slug": "other-app"})
            session.add(AppMember(app_id=app.id, user_id=users[BOB].user_id, role="viewer"))
            ids = (app.id, other.id)
        yield World(settings, users, *ids, engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with _world(make_settings(tmp_path_factory.mktemp("app-keys"))) as made:
        yield made


def test_each_key_works_only_in_its_own_header_and_app(world: World) -> None:
    runtime, header = world.mint(keys.RUNTIME), world.mint(keys.HEADER)
    assert world.call(bearer=runtime).key_id is not None
    assert world.call(app_key=header).key_id is not None
    assert world.call(app_key=header, bearer="ignored").key_id == world.call(app_key=header).key_id
    foreign = world.mint(keys.RUNTIME, app_id=world.other_app_id)
    for attempt in [
        {"app_key": runtime},  # a runtime key is no header key
        {"bearer": header},  # nor the other way round
        {"bearer": foreign},  # another app's key
        {"bearer": runtime + "x"},
        {"bearer": None},
    ]:
        with pytest.raises(Unauthenticated):
            world.call(**attempt)  # type: ignore[arg-type]
    with unit_of_work(world.sessions()) as session, pytest.raises(NotFound):
        invoke_caller(session, "app-unknown", authorization=f"Bearer {runtime}", app_key=None)


def test_a_deactivated_key_is_refused(world: World) -> None:
    header = world.mint(keys.HEADER)
    caller = world.call(app_key=header)
    with unit_of_work(world.sessions()) as session:
        assert caller.key_id is not None
        keys.deactivate(session, world.app_id, caller.key_id, keys.HEADER)
    with pytest.raises(Unauthenticated):
        world.call(app_key=header)


def test_members_user_keys_from_operator_up(world: World) -> None:
    owner = world.call(bearer=world.users[ALICE].key)
    assert (owner.key_id, owner.user_id) == (None, world.users[ALICE].user_id)
    with pytest.raises(PermissionDenied):  # bob is a viewer
        world.call(bearer=world.users[BOB].key)
    with pytest.raises(NotFound):  # carol holds no role on this app
        world.call(bearer=world.users[CAROL].key)


def test_requests_per_minute(world: World) -> None:
    key = world.mint(keys.RUNTIME, rpm=3)
    for _ in range(3):
        world.call(bearer=key)
    with pytest.raises(RateLimited) as refused:
        world.call(bearer=key, now=NOON + dt.timedelta(seconds=20))
    assert refused.value.detail == {"retry_after": 35}
    world.call(bearer=key, now=NOON + dt.timedelta(minutes=1))  # a new minute, a new budget
    with unit_of_work(world.sessions()) as session:  # and the old minute's count is gone
        windows = session.scalars(select(AppKeyUsage.window).join(AppKey).where(AppKey.key_prefix == key[:13]))
        assert list(windows) == [int(NOON.timestamp()) // 60 + 1]
    response = error_response(Request({"type": "http", "path": "/v1/apps/x/run", "headers": []}), refused.value)
    assert response.status_code == 429 and response.headers["Retry-After"] == "35"


def test_the_limit_holds_across_api_hosts(tmp_path: Path, database_url: str) -> None:
    """Twelve concurrent requests through three engines (three API hosts) against a limit of five: five pass."""
    with _world(make_settings(tmp_path, database_url)) as world, ExitStack() as stack:
        engines = [make_engine(world.settings) for _ in range(3)]
        for engine in engines:
            stack.callback(engine.dispose)
        _race(world, [make_sessionmaker(engine, write=True) for engine in engines])


def _race(world: World, hosts: list[sessionmaker[Session]]) -> None:
    key = world.mint(keys.RUNTIME, rpm=5)
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def request(index: int) -> None:
        start.wait()
        try:
            with unit_of_work(hosts[index % 3]) as session:
                invoke_caller(session, world.app_id, authorization=f"Bearer {key}", app_key=None, now=NOON)
            outcomes.append("ok")
        except RateLimited:
            outcomes.append("429")

    threads = [threading.Thread(target=request, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["429"] * 7 + ["ok"] * 5
    with unit_of_work(world.sessions()) as session:
        assert session.scalar(select(AppKeyUsage.count)) == 5  # refused requests are not counted


def test_two_deploys_of_one_new_slug_at_once(tmp_path: Path, database_url: str) -> None:
    """Host B deploys a new slug while host A's deploy of it is not yet committed: on PostgreSQL B's insert waits
    for A's and then meets the unique index, on SQLite B waits for the write lock and then sees A's app; either
    way B gets the 409 (never a 500) and leaves nothing behind."""
    settings = make_settings(tmp_path, database_url)
    users = seed_runtime_users(settings, ALICE, BOB)
    manifest = {**json.loads((DATA / "control_manifest.json").read_text()), "slug": "race-slug"}
    box = SecretBox.from_settings(settings)
    outcome: list[str] = []
    with ExitStack() as stack:
        host_a, host_b = (make_sessionmaker(make_engine(settings), write=True) for _ in range(2))
        stack.callback(host_a.kw["bind"].dispose)
        stack.callback(host_b.kw["bind"].dispose)

        def deploy_on_b() -> None:
            try:
                with unit_of_work(host_b) as session:
                    deploy(session, settings, box, users[BOB].user_id, manifest)
                outcome.append("created")
            except AlreadyExists:
                outcome.append("409")

        with unit_of_work(host_a) as session:
            deploy(session, settings, box, users[ALICE].user_id, manifest)
            other = threading.Thread(target=deploy_on_b)
            other.start()
            other.join(timeout=1)  # B is now waiting on A (it cannot finish before A commits)
            assert other.is_alive()
        other.join(timeout=60)
        assert outcome == ["409"]
        with unit_of_work(host_a) as session:
            assert session.scalar(select(func.count()).select_from(App)) == 1
            assert session.scalar(select(func.count()).select_from(AppMember)) == 1
