"""The PostgreSQL executor with real ``ara worker`` processes: an API-only server (``ARA_ENGINE__WORKERS=0``, it
keeps time but executes nothing) and workers with homes of their own, sharing only the database and the key."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.engine.clock import ORPHAN_GRACE
from ara.engine.context import EngineContext
from ara.engine.distributed import ProcrastinateExecutor
from ara.lifecycle.executor import attach
from ara.playbooks.models import PlaybookRun
from ara.playbooks.runs import create_run
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.mission import ADMIN, Mission, mission_control
from tests.support.processes import group_members
from tests.support.workers import ARA, WorkerProcess, wait_registered, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.serial]
KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="
# Heartbeats every 4/3 s: a live worker must miss three in a row to be declared dead.
HEARTBEAT = 4.0
Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Mission]:
    with fresh_postgres_database() as url:
        engine = {"workers": 0, "poll_interval": 0.1, "heartbeat_timeout": HEARTBEAT}
        settings = make_settings(tmp_path / "api", url, secret_key=KEY, engine=engine)
        with mission_control(settings) as mission:
            yield mission


@pytest.fixture
def spawn(api: Mission, tmp_path: Path) -> Iterator[Spawn]:
    """Start an ``ara worker`` and wait until it listens (procrastinate registers one worker per queue and one for
    the clock: the server's clock, then each ``ara worker``'s runs, agents and clock)."""
    started: list[WorkerProcess] = []
    registered = 1

    def start(*args: str, **env: str) -> WorkerProcess:
        nonlocal registered
        worker = WorkerProcess(api.settings, api.settings.base_dir.parent / f"worker-{len(started)}", *args, **env)
        started.append(worker)
        registered += 1 + (args.count("--queue") or 2)
        wait_registered(started, registered)
        return worker

    yield start
    for worker in started:
        worker.kill()


def _stamp(path: Path) -> str:
    return f"date +%s.%N > {path}.tmp && mv {path}.tmp {path}"


def _wait_file(path: Path, timeout: float = 60) -> str:
    """The line a script writes to ``path``, once whole (a reader can see the file before the write)."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and (text := path.read_text()).endswith("\n")):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return text.strip()


def _holding_run(api: Mission, pid_file: Path) -> str:
    """A run whose action writes its process group id to ``pid_file`` and then sleeps a minute."""
    playbook_id = api.define(
        "hold", {"actions": [{"name": "hold", "exec": {"script": f"echo $$ > {pid_file}; sleep 60"}}]}
    )
    return api.run(playbook_id)


def _kill_group(pid_file: Path) -> None:
    if pid_file.exists() and pid_file.read_text().strip():
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@contextmanager
def _held_run(api: Mission, spawn: Spawn, tmp_path: Path) -> Iterator[tuple[WorkerProcess, str, int]]:
    """A new worker running a ``_holding_run``: the worker, the run's id and its action's process group."""
    worker = spawn()
    pid_file = tmp_path / "action.pid"
    run_id = _holding_run(api, pid_file)
    try:
        yield worker, run_id, int(_wait_file(pid_file))
    finally:
        _kill_group(pid_file)


def _moment(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _context(mission: Mission) -> EngineContext:
    engine = make_engine(mission.settings)
    return EngineContext.build(
        mission.settings, engine, make_sessionmaker(engine), make_sessionmaker(engine, write=False)
    )


def _create(ctx: EngineContext, session: Session, playbook_id: str) -> PlaybookRun:
    """A run created as the API creates one (``create_run`` makes it due through the attached executor, if any)."""
    return create_run(
        session, ctx.box, playbook_id=playbook_id, request={}, identity=None, trigger="api", check_permission=False
    )


def test_a_rolled_back_run_leaves_no_job(api: Mission) -> None:
    playbook_id = api.define("quick", {"actions": [{"name": "hi", "exec": {"script": "true"}}]})
    ctx = _context(api)
    attach(ctx.writer, ProcrastinateExecutor(ctx, concurrency=0))  # defers only: never started
    jobs_of = text("SELECT count(*) FROM procrastinate_jobs WHERE lock = 'run:' || :run_id")

    class Refused(Exception):
        pass

    try:
        with pytest.raises(Refused), unit_of_work(ctx.writer) as session:
            doomed = _create(ctx, session, playbook_id).id
            assert session.scalar(jobs_of, {"run_id": doomed}) == 1  # the job is inside this very transaction
            raise Refused  # what fails after the submit, in the same transaction
        with unit_of_work(ctx.writer) as session:
            kept = _create(ctx, session, playbook_id).id
        with unit_of_work(ctx.reader) as session:
            assert session.get(PlaybookRun, doomed) is None
            assert session.scalar(jobs_of, {"run_id": doomed}) == 0
            assert session.get(PlaybookRun, kept) is not None
            assert session.scalar(jobs_of, {"run_id": kept}) == 1
    finally:
        ctx.engine.dispose()


def test_runs_without_a_job_are_given_one_or_failed(api: Mission, spawn: Spawn) -> None:
    playbook_id = api.define("quick", {"actions": [{"name": "hi", "exec": {"script": "true"}}]})
    ctx = _context(api)
    try:
        with unit_of_work(ctx.writer) as session:  # no executor attached (a CLI tool, say): no job
            orphan = _create(ctx, session, playbook_id).id
            stranded = _create(ctx, session, playbook_id)
            stranded.status, stranded.worker_id = "running", "gone:1"  # running, yet no job executes it
            stranded_id = stranded.id
    finally:
        ctx.engine.dispose()
    spawn()
    assert api.wait(orphan, timeout=30)["status"] == "completed"
    run = api.wait(stranded_id, timeout=30)
    assert run["status"] == "failed" and "gone:1 lost the run" in run["error"]


def test_an_idle_worker_starts_a_new_run_at_once(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    # Polling every 5 s: only the commit's NOTIFY can explain a prompt start. ARA_ENGINE__WORKERS=0 (the API
    # host's setting, in a shared environment) does not make the worker idle.
    spawn(ARA_ENGINE__POLL_INTERVAL="5", ARA_ENGINE__WORKERS="0")
    stamps = tmp_path / "stamps"
    stamps.mkdir()
    playbook_id = api.define(
        "stamp", {"actions": [{"name": "stamp", "exec": {"script": _stamp(stamps / "{{ run.id }}")}}]}
    )
    api.wait(api.run(playbook_id), timeout=60)  # warm-up: the worker's first run imports what runs need
    latencies = []
    for _ in range(5):
        time.sleep(0.3)  # idle again
        before = time.time()
        run_id = api.run(playbook_id)
        latencies.append(float(_wait_file(stamps / run_id)) - before)
        api.wait(run_id, timeout=60)
    print(f"trigger to action start, idle external worker: {[round(s * 1000) for s in latencies]} ms")
    assert statistics.median(latencies) < 1.0


def test_a_run_started_without_a_server_is_taken_at_once(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    # ``ara run start`` on the offline client (the default) makes the run due in its own process, where no
    # executor runs: the job is deferred there all the same, not left for the clock's search for orphans.
    spawn()
    api.define("quick", {"actions": [{"name": "hi", "exec": {"script": "true"}}]})
    env = worker_env(api.settings, tmp_path / "cli", ARA_API_USERNAME=ADMIN[0], ARA_API_PASSWORD=ADMIN[1])
    started = subprocess.run(
        [*ARA, "run", "start", "quick", "--wait", "-f", "json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert started.returncode == 0, started.stdout + started.stderr
    run_id = json.loads(started.stdout)["id"]
    run = api.get(run_id)
    waited = (_moment(run["start_time"]) - _moment(run["created_at"])).total_seconds()
    print(f"ara run start (offline client) to run start: {waited * 1000:.0f} ms")
    assert waited < ORPHAN_GRACE.total_seconds()


def test_cancel_kills_a_running_action_on_a_worker(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    with _held_run(api, spawn, tmp_path) as (_, run_id, pgid):
        assert group_members(pgid)
        started = time.monotonic()
        assert api.http.post(f"/playbook/run/cancel/{run_id}").status_code == 200
        while group_members(pgid):
            assert time.monotonic() - started < 30, "the action's process group survived the cancel"
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        print(f"cancel to process group gone: {elapsed * 1000:.0f} ms")
        assert elapsed < 1.0
        assert api.wait(run_id)["status"] == "cancelled"
        assert api.status(run_id)["actions"][0]["status"] == "cancelled"


def test_a_delay_fires_on_time(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    spawn(ARA_ENGINE__POLL_INTERVAL="0.5")  # the default: a job scheduled for later is found by this poll
    first, second = tmp_path / "first", tmp_path / "second"
    playbook_id = api.define(
        "delayed",
        {
            "actions": [
                {"name": "first", "exec": {"script": _stamp(first)}},
                {"name": "second", "delay": "1s", "exec": {"script": _stamp(second)}},
            ]
        },
    )
    run_id = api.run(playbook_id)
    assert api.wait(run_id, timeout=60)["status"] == "completed"
    gap = float(second.read_text()) - float(first.read_text())
    print(f"1 s delay: the next action started {gap:.3f} s after the previous one")
    assert 1.0 <= gap < 2.25  # 1 s, then at most one poll (0.5 s) and the start of an action


def test_an_every_second_schedule_fires_once_per_second_with_three_workers(api: Mission, spawn: Spawn) -> None:
    for _ in range(3):
        spawn()
    playbook_id = api.define(
        "ticker",
        {"on": {"schedule": [{"schedule": "@every 1s"}]}, "actions": [{"name": "t", "exec": {"script": "true"}}]},
    )
    time.sleep(6)
    engine = make_engine(api.settings)
    try:
        with engine.connect() as connection:
            keys = list(
                connection.scalars(select(PlaybookRun.trigger_key).where(PlaybookRun.playbook_id == playbook_id))
            )
    finally:
        engine.dispose()
    fired = sorted(_moment(key.split(":", 2)[2]) for key in keys)  # schedule:<position>:<due time>
    print(f"{len(fired)} firings in 6 s with 4 clocks (3 workers and the server)")
    assert len(fired) >= 3
    assert len(set(fired)) == len(fired)  # once per due time
    assert all(b - a == dt.timedelta(seconds=1) for a, b in zip(fired, fired[1:], strict=False))  # none skipped


def test_two_workers_never_exceed_a_concurrency_of_one(api: Mission, spawn: Spawn) -> None:
    spawn("--concurrency", "2")
    spawn("--concurrency", "2")
    playbook_id = api.define(
        "exclusive", {"concurrency": 1, "actions": [{"name": "hold", "exec": {"script": "sleep 0.2"}}]}
    )
    run_ids = [api.run(playbook_id) for _ in range(10)]
    runs = [api.wait(run_id, timeout=120) for run_id in run_ids]
    assert {run["status"] for run in runs} == {"completed"}
    spans = sorted((_moment(run["start_time"]), _moment(run["end_time"])) for run in runs)
    overlaps = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    assert not overlaps
    print(f"10 runs, concurrency 1, two workers: {(spans[-1][1] - spans[0][0]).total_seconds():.1f} s")


def test_a_worker_runs_as_many_runs_at_once_as_its_concurrency(api: Mission, spawn: Spawn) -> None:
    # More than asyncio's default thread pool (cpus + 4 threads) would allow on a small machine.
    slots = (os.cpu_count() or 1) + 5
    spawn("--concurrency", str(slots))
    playbook_id = api.define("wide", {"actions": [{"name": "hold", "exec": {"script": "sleep 3"}}]})
    runs = [api.wait(run_id, timeout=120) for run_id in [api.run(playbook_id) for _ in range(slots)]]
    assert {run["status"] for run in runs} == {"completed"}
    last_start = max(_moment(run["start_time"]) for run in runs)
    first_end = min(_moment(run["end_time"]) for run in runs)
    assert last_start < first_end  # all of them were running at that moment


def test_a_killed_worker_fails_its_run_within_the_heartbeat_timeout(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    worker = spawn()
    pid_file = tmp_path / "action.pid"
    run_id = _holding_run(api, pid_file)
    try:
        _wait_file(pid_file)
        worker.process.send_signal(signal.SIGKILL)
        worker.process.wait(timeout=30)
        killed = time.monotonic()
        run = api.wait(run_id, "failed", "completed", "cancelled", timeout=HEARTBEAT * 5)
        elapsed = time.monotonic() - killed
        print(f"kill -9 to run failed: {elapsed:.1f} s (heartbeat timeout {HEARTBEAT} s)")
        assert run["status"] == "failed"
        assert "stopped reporting" in run["error"]
        assert elapsed < HEARTBEAT + 2.5  # the last heartbeat was at most a third of the timeout ago; a tick a second
        assert api.status(run_id)["actions"][0]["status"] == "failed"
        pid_file.unlink()
        time.sleep(1.5)
        assert not pid_file.exists() and api.get(run_id)["status"] == "failed"  # never started again
    finally:
        _kill_group(pid_file)


def _prune_every_worker(api: Mission) -> int:
    """What a starting worker does to workers silent past the heartbeat timeout, here to all of them at once;
    returns how many registrations went."""
    engine = make_engine(api.settings)
    try:
        with engine.begin() as connection:
            return len(connection.execute(text("SELECT * FROM procrastinate_prune_stalled_workers_v1(0)")).all())
    finally:
        engine.dispose()


def test_workers_whose_registrations_were_pruned_register_again_and_keep_working(api: Mission, spawn: Spawn) -> None:
    # What a worker's start does to any process silent past the heartbeat timeout (a stall under load, a paused
    # VM): its rows go, and its next fetch fails on the missing row. Each worker starts again instead of dying.
    worker = spawn()
    playbook_id = api.define("quick", {"actions": [{"name": "hi", "exec": {"script": "true"}}]})
    assert api.wait(api.run(playbook_id), timeout=60)["status"] == "completed"
    assert _prune_every_worker(api) == 4  # the server's clock; the worker's runs, agents and clock
    run = api.wait(api.run(playbook_id), timeout=60)
    assert run["status"] == "completed"
    worker.wait_registered(4)  # the server's clock too, once its tick found the row gone
    assert worker.process.poll() is None
    assert "starting it again in 1 s" in worker.output(), worker.output()


def test_a_run_on_a_pruned_worker_fails_and_its_action_is_killed(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    # Declared dead while alive: the run fails as a dead worker's does, and the worker, seeing its row gone, stops
    # it (drain, then abort) rather than leave the action running unseen; then it registers again.
    with _held_run(api, spawn, tmp_path) as (worker, run_id, pgid):
        pruned = time.monotonic()
        assert _prune_every_worker(api) == 4
        run = api.wait(run_id, "failed", "completed", "cancelled", timeout=HEARTBEAT * 5)
        assert run["status"] == "failed" and "stopped reporting" in run["error"], run
        while group_members(pgid):
            assert time.monotonic() - pruned < HEARTBEAT * 3, "the action outlived its run"
            time.sleep(0.05)
        print(f"prune to run failed and action gone: {time.monotonic() - pruned:.1f} s")
        worker.wait_registered(4)
        assert worker.process.poll() is None
        assert api.get(run_id)["status"] == "failed"


def test_sigterm_lets_the_running_run_finish(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    worker = spawn()
    started = tmp_path / "started"
    playbook_id = api.define("short", {"actions": [{"name": "s", "exec": {"script": f"{_stamp(started)}; sleep 1"}}]})
    run_id = api.run(playbook_id)
    _wait_file(started)
    assert worker.terminate() == 0, worker.output()[-3000:]
    assert api.get(run_id)["status"] == "completed"


def test_sigterm_fails_a_run_still_going_after_the_drain(api: Mission, spawn: Spawn, tmp_path: Path) -> None:
    with _held_run(api, spawn, tmp_path) as (worker, run_id, pgid):
        stopping = time.monotonic()
        assert worker.terminate() == 0, worker.output()[-3000:]
        print(f"SIGTERM to exit with a run still going: {time.monotonic() - stopping:.1f} s (drain {HEARTBEAT / 2} s)")
        run = api.get(run_id)
        assert run["status"] == "failed"  # not cancelled: nobody asked for that; and never resumed
        assert "shut down during the run" in run["error"]
        assert not group_members(pgid)


def test_check_reports_the_schema(api: Mission, tmp_path: Path) -> None:
    env = worker_env(api.settings, tmp_path / "checker")
    ok = subprocess.run([*ARA, "worker", "--check"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "procrastinate schema: OK" in ok.stdout
    with fresh_postgres_database(migrated=False) as empty:
        env["ARA_DATABASE__URL"] = empty
        bare = subprocess.run([*ARA, "worker", "--check"], env=env, capture_output=True, text=True, timeout=60)
    assert bare.returncode == 1
    assert "expected" in bare.stdout and "missing" in bare.stdout
