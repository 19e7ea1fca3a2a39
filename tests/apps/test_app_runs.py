"""App runs through the engine: ``start_run`` makes a run due on the agents queue in the caller's transaction
(dedup on the idempotency key and the run id, also when two callers race), the engine executes it as its own kind
beside playbook and automation runs, and however it ends its log rows end with ``run.completed`` or
``run.failed`` and its records playbook (labelled with the app, the agent and the trigger) takes the outcome."""

from __future__ import annotations

import copy
import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from ara.apps import webhooks
from ara.apps.logs import rows_after
from ara.apps.models import App, AppRun, AppWebhookDelivery
from ara.apps.runs import describe_run, start_run, wait_for_end
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine.app_webhooks import deliver_webhooks, send_due
from ara.engine.kinds import KINDS
from ara.errors import NotFound, ValidationFailed
from ara.lifecycle.executor import AGENTS, APP, RUNS
from ara.records import models as rm
from ara.server.app import create_app, start_executor
from ara.server.state import AppState
from ara.settings import Settings
from tests.apps.support import add_app
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.runtime_users import ALICE, seed_runtime_users


@pytest.fixture
def postgres_settings(tmp_path: Path) -> Iterator[Settings]:
    with fresh_postgres_database() as url:
        yield make_settings(tmp_path, url)


@contextmanager
def _state(settings: Settings) -> Iterator[AppState]:
    """The app state of a server whose executor runs (the lifespan is not needed: started by hand)."""
    app = create_app(settings)
    state: AppState = app.state.ara
    state.executor = start_executor(state)
    try:
        yield state
    finally:
        state.executor.stop()
        state.engine.dispose()


def _app(state: AppState, owner_id: int) -> str:
    with unit_of_work(state.writer) as session:
        return add_app(session, owner_id).id


def test_app_runs_are_a_kind_of_their_own_on_the_agents_queue() -> None:
    assert KINDS[APP].model is AppRun and KINDS[APP].queue == AGENTS and KINDS[APP].task == "ara.app.advance"
    assert {kind.task for kind in KINDS.values()} == {"ara.run.advance", "ara.agent.advance", "ara.app.advance"}
    assert [name for name, kind in KINDS.items() if kind.queue == RUNS] == ["playbook"]


@pytest.mark.postgres
def test_a_repeated_key_or_run_id_finds_the_first_run_even_when_callers_race(postgres_settings: Settings) -> None:
    """PostgreSQL: its writers really run at once (SQLite's take turns)."""
    settings = postgres_settings
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    app = create_app(settings, workers=False)
    state: AppState = app.state.ara
    try:
        app_id = _app(state, owner)
        with unit_of_work(state.writer) as session:
            found = session.get(App, app_id)
            assert found is not None
            first, created = start_run(
                session, settings, found, agent_id=None, input={}, trigger="api", idempotency_key="k1"
            )
            assert created and first.agent_id == "digest"  # the manifest's entrypoint agent
            again, created_again = start_run(
                session, settings, found, agent_id="helper", input={}, trigger="api", idempotency_key="k1"
            )
            assert (again.id, created_again) == (first.id, False)
            named, _ = start_run(session, settings, found, agent_id="helper", input={}, trigger="api", run_id="r-1")
            same, created_same = start_run(
                session, settings, found, agent_id="helper", input={}, trigger="api", run_id="r-1"
            )
            assert (same.id, created_same) == (named.id, False) and named.run_id == "r-1"
            with pytest.raises(NotFound, match="nobody"):
                start_run(session, settings, found, agent_id="nobody", input={}, trigger="api")
        for too_long in ({"run_id": "r" * 256}, {"idempotency_key": "k" * 256}):  # a 400, not PostgreSQL's DataError
            with unit_of_work(state.writer) as session, pytest.raises(ValidationFailed) as refused:
                found = session.get(App, app_id)
                assert found is not None
                start_run(session, settings, found, agent_id=None, input={}, trigger="api", **too_long)
            assert set(refused.value.detail) == set(too_long)

        barrier = threading.Barrier(4)
        made: list[tuple[str, bool]] = []

        def race() -> None:
            barrier.wait()
            with unit_of_work(state.writer) as session:
                found = session.get(App, app_id)
                assert found is not None
                run, created = start_run(
                    session, settings, found, agent_id=None, input={}, trigger="api", idempotency_key="raced"
                )
                made.append((run.id, created))

        threads = [threading.Thread(target=race) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len({run_id for run_id, _ in made}) == 1 and sorted(created for _, created in made) == [
            False,
            False,
            False,
            True,
        ]
        with unit_of_work(state.reader) as session:
            raced = session.scalars(select(AppRun).where(AppRun.idempotency_key == "raced")).all()
            assert len(raced) == 1
    finally:
        state.engine.dispose()


def test_a_run_executes_on_the_engine_and_ends_with_its_log_row_and_records_playbook(
    sqlite_settings: Settings,
) -> None:
    """SQLite's embedded engine here; ``test_app_runs_scaling`` has PostgreSQL's workers."""
    settings = sqlite_settings
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    with _state(settings) as state:
        app_id = _app(state, owner)
        with unit_of_work(state.writer) as session:
            found = session.get(App, app_id)
            assert found is not None
            run, _ = start_run(session, settings, found, agent_id="helper", input={}, trigger="warmup", warmup=True)
            run_pk, run_id = run.id, run.run_id
        ended = wait_for_end(state.reader, run_pk, timeout=120)
        described = describe_run(ended)
        assert (described["status"], described["ok"], described["run_id"]) == ("completed", True, run_id)
        assert described["result"] == {"output_text": "", "tool_calls": []}  # a warm-up: no model call
        assert ended.attempt == 1 and ended.worker_id is None and ended.playbook_id is not None
        with unit_of_work(state.reader) as session:
            events = [line.event_type for line in rows_after(session, app_id, 0, run_id=run_id)]
            playbook = session.get(rm.Playbook, ended.playbook_id)
            assert playbook is not None
            labels = sorted(label.name for label in playbook.labels)
            assert (playbook.name, playbook.path) == ("digest-app/helper", "app://digest-app/helper")
            assert playbook.status == ended.status and playbook.ended is not None
        assert events[:2] == ["run.queued", "run.started"]
        assert events[-1] == f"run.{ended.status}" and events.count(events[-1]) == 1
        assert labels == ["agent:helper", "app:digest-app", "trigger:warmup"]


def test_a_failure_right_after_the_admission_fails_the_run_with_its_reason(sqlite_settings: Settings) -> None:
    """Opening the run's records happens after the admission commits: when it fails (here an agent id that no
    deploy accepts any more, stored by hand, makes a bad records label) the run fails, never stays scheduled."""
    settings = sqlite_settings
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    with _state(settings) as state:
        with unit_of_work(state.writer) as session:
            app = add_app(session, owner)
            document = copy.deepcopy(app.manifest)
            document["agent"]["agents"][0]["id"] = "a" * 250
            app.manifest = document
            run, _ = start_run(session, settings, app, agent_id="a" * 250, input={}, trigger="api")
            app_id, run_pk, run_id = app.id, run.id, run.run_id
        ended = wait_for_end(state.reader, run_pk, timeout=120)
        assert ended.status == "failed" and ended.error and "label" in ended.error, ended.error
        assert ended.worker_id is None
        with unit_of_work(state.reader) as session:
            events = [line.event_type for line in rows_after(session, app_id, 0, run_id=run_id)]
        assert events == ["run.queued", "run.failed"]


@pytest.mark.postgres
def test_a_webhook_delivery_is_claimed_by_one_clock_and_backs_off_until_it_gives_up(
    postgres_settings: Settings,
) -> None:
    """Every host's clock may try a delivery: the conditional claim gives it to one of them; each failure waits
    twice as long as the last, and the last attempt marks it failed."""
    settings = postgres_settings.model_copy(
        update={"apps": postgres_settings.apps.model_copy(update={"webhook_attempts": 3, "webhook_backoff_seconds": 2})}
    )
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    app = create_app(settings, workers=False)
    state: AppState = app.state.ara
    try:
        app_id = _app(state, owner)
        with unit_of_work(state.writer) as session:
            found = session.get(App, app_id)
            assert found is not None
            callback = {"url": "http://127.0.0.1:9/hook", "secret": "", "events": ["run.failed"]}
            run, _ = start_run(
                session,
                settings,
                found,
                agent_id=None,
                input={},
                trigger="async",
                response_mode="webhook",
                callback=callback,
            )
            webhooks.queue_deliveries(session, run, "run.completed")  # not asked for: nothing
            webhooks.queue_deliveries(session, run, "run.failed")
            session.flush()
            delivery_id = session.scalars(
                select(AppWebhookDelivery.id).where(AppWebhookDelivery.run_pk == run.id)
            ).one()
        now = utcnow()
        barrier = threading.Barrier(3)
        claims: list[list[str]] = []

        def claim() -> None:
            barrier.wait()
            with unit_of_work(state.writer) as session:
                claims.append(webhooks.claim_due(session, now, lease_seconds=30))

        threads = [threading.Thread(target=claim) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(claims) == [[], [], [delivery_id]]
        for attempt, wait in ((1, 2), (2, 4)):
            with unit_of_work(state.writer) as session:
                webhooks.record_outcome(session, settings.apps, delivery_id, "the receiver answered 500", now)
            with unit_of_work(state.reader) as session:
                row = session.get(AppWebhookDelivery, delivery_id)
                assert row is not None and (row.status, row.attempts) == ("pending", attempt)
                assert row.next_at == now + dt.timedelta(seconds=wait)
            now = row.next_at
            with unit_of_work(state.writer) as session:
                assert webhooks.claim_due(session, now, lease_seconds=30) == [delivery_id]
        with unit_of_work(state.writer) as session:
            webhooks.record_outcome(session, settings.apps, delivery_id, "the receiver answered 500", now)
        with unit_of_work(state.reader) as session:
            row = session.get(AppWebhookDelivery, delivery_id)
            assert row is not None and (row.status, row.attempts, row.last_error) == (
                "failed",
                3,
                "the receiver answered 500",
            )
    finally:
        state.engine.dispose()


class _Trickler:
    """A receiver that reads each request and then answers one header byte at a time, never finishing (until
    the test ends): per-phase timeouts never fire, only an overall deadline ends the POST. Counts the POSTs
    per delivery id."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.posts: list[str] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(connection,), daemon=True).start()

    def _trickle(self, connection: socket.socket) -> None:
        with connection:
            head = b""
            while b"\r\n\r\n" not in head and (chunk := connection.recv(65536)):
                head += chunk
            found = re.search(rb"x-ara-delivery-id: *(\S+)", head, re.IGNORECASE)
            self.posts.append(found.group(1).decode() if found else "?")
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                while not self.closed.wait(0.2):
                    connection.sendall(b"a")
            except OSError:
                return

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


def test_webhooks_are_claimed_one_at_a_time_by_one_sender_with_an_overall_deadline(
    sqlite_settings: Settings,
) -> None:
    """Three deliveries to a receiver that never finishes answering, the clock ticking meanwhile: each is POSTed
    once (its lease never runs out under a live sender), one sender thread at most, each cut off at the deadline."""
    apps = sqlite_settings.apps.model_copy(
        update={
            "webhook_timeout_seconds": 1.0,
            "webhook_attempts": 5,
            "webhook_backoff_seconds": 600,
            "webhook_allow_private": True,
        }
    )
    settings = sqlite_settings.model_copy(update={"apps": apps})
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    app = create_app(settings, workers=False)
    state: AppState = app.state.ara
    receiver = _Trickler()
    try:
        app_id = _app(state, owner)
        with unit_of_work(state.writer) as session:
            found = session.get(App, app_id)
            assert found is not None
            for _ in range(3):
                callback = {"url": receiver.url, "secret": "", "events": ["run.failed"]}
                run, _ = start_run(
                    session, settings, found, agent_id=None, input={}, trigger="async", response_mode="webhook",
                    callback=callback,
                )  # fmt: skip
                webhooks.queue_deliveries(session, run, "run.failed")

        def deliveries() -> list[AppWebhookDelivery]:
            with unit_of_work(state.reader) as session:
                return list(session.scalars(select(AppWebhookDelivery)).all())

        senders = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            deliver_webhooks(state.engine_context, utcnow())  # the clock's tick
            senders = max(senders, sum(t.name == "ara-webhooks" and t.is_alive() for t in threading.enumerate()))
            tried = deliveries()
            if all(d.last_error for d in tried) and not any(t.name == "ara-webhooks" for t in threading.enumerate()):
                break
            time.sleep(0.2)
        tried = deliveries()
        assert sorted(receiver.posts) == sorted(d.id for d in tried)  # each POSTed once
        assert [d.attempts for d in tried] == [1, 1, 1] and senders == 1
        assert all(d.last_error == "no answer within 1 s" for d in tried), [d.last_error for d in tried]
    finally:
        receiver.close()
        state.engine.dispose()


def test_a_delivery_to_a_private_address_is_refused_when_it_is_sent(sqlite_settings: Settings) -> None:
    """Checked at submit (``test_control_plane``) and again at delivery, on the address its host resolves to now."""
    settings = sqlite_settings
    owner = seed_runtime_users(settings, ALICE)[ALICE].user_id
    app = create_app(settings, workers=False)
    state: AppState = app.state.ara
    receiver = _Trickler()
    try:
        app_id = _app(state, owner)
        with unit_of_work(state.writer) as session:
            found = session.get(App, app_id)
            assert found is not None
            callback = {"url": receiver.url.replace("127.0.0.1", "localhost"), "events": ["run.failed"]}
            run, _ = start_run(
                session, settings, found, agent_id=None, input={}, trigger="async", response_mode="webhook",
                callback=callback,
            )  # fmt: skip
            webhooks.queue_deliveries(session, run, "run.failed")
        send_due(state.engine_context)
        with unit_of_work(state.reader) as session:
            delivery = session.scalars(select(AppWebhookDelivery)).one()
        assert receiver.posts == [] and delivery.attempts == 1
        assert delivery.last_error and "ARA_APPS__WEBHOOK_ALLOW_PRIVATE" in delivery.last_error
    finally:
        receiver.close()
        state.engine.dispose()
