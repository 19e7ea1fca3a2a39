"""Two requests writing the same new row at once on PostgreSQL (where writers really overlap): the second one's
insert waits on the first's uncommitted row and, once that commits, must not end in a unique violation (a 500).
The collision is forced, not hoped for: the first transaction stays open until the second is seen waiting on
its lock in ``pg_stat_activity``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ara.apps import invites, secrets_store
from ara.apps.models import App, AppEndpointSecret, AppMember, AppSecret
from ara.db.session import unit_of_work
from ara.server.app import create_app
from ara.server.state import AppState
from tests.apps.support import add_app
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.runtime_users import ALICE, BOB, seed_runtime_users

pytestmark = pytest.mark.postgres

Work = Callable[[Session], object]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppState]:
    with fresh_postgres_database() as url:
        settings = make_settings(tmp_path_factory.mktemp("concurrent"), url)
        seed_runtime_users(settings, ALICE, BOB)
        made: AppState = create_app(settings, workers=False).state.ara
        try:
            yield made
        finally:
            made.engine.dispose()


def _waiting_on_a_lock(state: AppState) -> bool:
    with unit_of_work(state.reader) as session:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        return bool(session.scalar(text(query)))


def _collide(state: AppState, first: Work, second: Work) -> list[BaseException]:
    """``first`` in a transaction held open until ``second`` waits on it; the errors ``second`` raised."""
    first_done, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run_first() -> None:
        try:
            with unit_of_work(state.writer) as session:
                first(session)
                first_done.set()
                release.wait(60)
        finally:
            first_done.set()

    def run_second() -> None:
        first_done.wait(60)
        try:
            with unit_of_work(state.writer) as session:
                second(session)
        except BaseException as exc:  # noqa: BLE001 - what the test reports
            errors.append(exc)

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while not _waiting_on_a_lock(state):
        assert time.monotonic() < deadline, "the second writer never waited on the first"
        time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _new_app(state: AppState, slug: str, **changes: object) -> str:
    with unit_of_work(state.writer) as session:
        owner = session.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": ALICE})
        return add_app(session, int(owner), slug=slug, **changes).id


def test_two_puts_of_the_same_new_secret_both_succeed_and_the_later_wins(state: AppState) -> None:
    app_id = _new_app(state, "secret-race")
    box = state.engine_context.box

    def put(value: str) -> Work:
        return lambda session: secrets_store.put_secret(session, box, app_id, {"name": "api", "values": {"K": value}})

    assert _collide(state, put("first"), put("second")) == []
    with unit_of_work(state.reader) as session:
        [row] = session.scalars(select(AppSecret).where(AppSecret.app_id == app_id)).all()
        assert secrets_store.secret_values(session, box, app_id)["K"] == "second" and row.keys == ["K"]


def test_two_deploys_minting_the_same_endpoint_secret_keep_one(state: AppState) -> None:
    endpoint = {"label": "hook", "method": "POST", "auth": {"mode": "hmac"}}
    app_id = _new_app(state, "endpoint-race", interfaces={"fastapi_endpoints": [endpoint]})
    box = state.engine_context.box

    def sync(session: Session) -> None:
        app = session.get(App, app_id)
        assert app is not None
        secrets_store.sync_endpoint_secrets(session, box, app)

    assert _collide(state, sync, sync) == []
    with unit_of_work(state.reader) as session:
        assert len(session.scalars(select(AppEndpointSecret).where(AppEndpointSecret.app_id == app_id)).all()) == 1


def test_two_invites_accepted_at_once_make_one_membership_with_the_stronger_role(state: AppState) -> None:
    app_id = _new_app(state, "invite-race")
    with unit_of_work(state.writer) as session:
        app = session.get(App, app_id)
        assert app is not None
        owner, bob = (session.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": u}) for u in (ALICE, BOB))
        tokens = [
            invites.create_invite(session, app, owner, {"email": BOB, "role": r})[0] for r in ("viewer", "editor")
        ]

    def accept(token: str) -> Work:
        return lambda session: invites.accept_invite(session, token, int(bob), BOB)

    assert _collide(state, accept(tokens[0]), accept(tokens[1])) == []
    with unit_of_work(state.reader) as session:
        roles = session.scalars(select(AppMember.role).where(AppMember.app_id == app_id, AppMember.user_id == bob))
        assert list(roles) == ["editor"]
