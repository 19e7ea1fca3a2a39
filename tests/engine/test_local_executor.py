"""The embedded executor (SQLite) on a real server: it acts only on committed submissions, keeps time without
polling, recovers what a previous process left behind, cancels within a second, holds ``concurrency`` with a
slot hand-off, and lets a running action learn of a cancel without write transactions."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.lifecycle.states import RunStatus, move_run
from ara.playbooks.models import PlaybookRun, RunAction
from ara.playbooks.runs import create_run
from ara.settings import Settings
from tests.engine.conftest import Embedded, embedded
from tests.support.processes import group_members
from tests.support.sql import statements_sent

# Wall-clock budgets: run alone, after the parallel phase (scripts/test.sh).
pytestmark = pytest.mark.serial

STAMP = "date +%s.%N"


def _until(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def _moment(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class _Abandon(Exception):
    """Raised to roll a transaction back."""


def test_a_run_submitted_in_a_rolled_back_transaction_is_never_executed(server: Embedded, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    playbook_id = server.mission.define(
        "touch", {"actions": [{"name": "touch", "exec": {"script": f"touch {marker}"}}]}
    )
    ctx = server.state.engine_context

    ids: list[str] = []

    def create(commit: bool) -> None:
        with unit_of_work(ctx.writer) as session:
            run = create_run(
                session, ctx.box, playbook_id=playbook_id, request={}, identity=None, check_permission=False
            )
            session.flush()
            ids.append(run.id)
            if not commit:
                raise _Abandon

    with statements_sent(server.state.engine) as seen:
        with pytest.raises(_Abandon):
            create(commit=False)
        time.sleep(1.0)  # the dispatcher hands a due run over within milliseconds: give it far more
        elsewhere = [s for s in seen if ids[0] in s[2] and s[0] != threading.current_thread().name]
        assert not elsewhere, "the executor looked the rolled-back run up"
        create(commit=True)  # the control: the same path with a commit executes at once
        assert server.mission.wait(ids[1])["status"] == "completed"
        assert [s for s in seen if ids[1] in s[2] and s[0].startswith("ara-run")]
    rolled_back = ids[0]
    assert server.mission.http.get(f"/playbook/run/{rolled_back}").status_code == 404
    assert marker.exists()  # created by the committed run only: the rolled-back one never reached an action


def _switches(native_id: int) -> int:
    """How many times the thread went to sleep or was preempted (Linux counts both per thread)."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/self/task/{native_id}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])


def test_a_delay_fires_on_time_and_the_timer_sleeps_while_nothing_is_due(server: Embedded) -> None:
    mission = server.mission
    playbook_id = mission.define("later", {"actions": [{"name": "later", "delay": "1s", "exec": {"script": STAMP}}]})
    run_id = mission.run(playbook_id)
    assert mission.wait(run_id)["status"] == "completed"
    [attempt] = mission.status(run_id)["actions"]
    late = float(attempt["result"]["stdout"]) - _moment(attempt["scheduled_time"])
    print(f"delay of 1 s: the action's process started {late * 1000:.0f} ms after its due time")
    assert 0 <= late < 0.5

    [timer] = [t for t in threading.enumerate() if t.name == "ara-timer"]
    assert timer.native_id is not None
    before = _switches(timer.native_id)
    time.sleep(2.0)  # nothing is due: the timer thread must not wake at all (a 50 ms poll would wake 40 times)
    idle = _switches(timer.native_id) - before
    print(f"timer thread wake-ups over 2 s of idleness: {idle}")
    assert idle <= 1
    # The control: a delayed run does wake it (the counter measures that thread); a run due at once goes straight to
    # the pool without waking it.
    quiet = _switches(timer.native_id)
    assert mission.wait(mission.run(mission.define("now", {"actions": [{"name": "a", "exec": {"script": "true"}}]})))
    assert _switches(timer.native_id) == quiet
    assert mission.wait(mission.run(playbook_id))["status"] == "completed"
    assert _switches(timer.native_id) > quiet


def test_at_start_a_run_left_running_fails_and_a_due_run_executes(tmp_path: Path, sqlite_settings: Settings) -> None:
    marker = tmp_path / "due-ran"
    no_executor = sqlite_settings.model_copy(
        update={"engine": sqlite_settings.engine.model_copy(update={"workers": 0})}
    )
    with embedded(no_executor) as before:  # a server that executes nothing: runs stay as written
        playbook_id = before.mission.define(
            "leftovers", {"actions": [{"name": "mark", "exec": {"script": f"touch {marker}"}}]}
        )
        interrupted, due = before.mission.run(playbook_id), before.mission.run(playbook_id)
        with unit_of_work(before.state.writer) as session:  # what a process killed mid-run leaves behind
            run = session.get(PlaybookRun, interrupted)
            assert run is not None
            move_run(run, RunStatus.RUNNING)
            run.start_time, run.worker_id = utcnow(), "gone:1:abc"
            session.add(RunAction(run_id=interrupted, name="mark", position=0, status="running", start_time=utcnow()))
        assert before.mission.get(due)["status"] == "scheduled"
    assert not marker.exists()

    with embedded(sqlite_settings, seed=False) as after:
        failed = after.mission.wait(interrupted)
        assert failed["status"] == "failed"
        assert failed["error"] == "the server stopped during the run; it was not resumed"
        assert [a["status"] for a in after.mission.status(interrupted)["actions"]] == ["failed"]
        assert after.mission.wait(due)["status"] == "completed"
    assert marker.exists()


def test_cancel_of_a_running_exec_kills_its_process_group_within_a_second(server: Embedded, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    mission = server.mission
    playbook_id = mission.define(
        "long",
        {
            "actions": [
                {
                    "name": "long",
                    "exec": {"script": f"echo $$ > {pid_file}.tmp; mv {pid_file}.tmp {pid_file}; sleep 60"},
                }
            ]
        },
    )
    run_id = mission.run(playbook_id)
    pgid = int(_until(lambda: pid_file.exists() and pid_file.read_text().strip(), "the script to start"))
    _until(lambda: len(group_members(pgid)) >= 2, "bash and its sleep 60 in one process group")
    started = time.monotonic()
    assert mission.http.post(f"/playbook/run/cancel/{run_id}").status_code == 200
    _until(lambda: not group_members(pgid), "the process group to die", timeout=30)
    elapsed = time.monotonic() - started
    print(f"cancel of a running sleep 60: process group gone {elapsed * 1000:.0f} ms after the request")
    assert elapsed < 1.0
    assert mission.wait(run_id)["status"] == "cancelled"
    assert _until(lambda: mission.status(run_id)["actions"][0]["status"] == "cancelled", "the action to end")


def test_concurrency_one_holds_over_runs_created_at_once_and_all_complete(server: Embedded, tmp_path: Path) -> None:
    """Each run takes a directory as a lock (``mkdir`` fails if another run holds it) and stamps its interval; no
    polling exists to rescue a run left waiting, so all completing shows that each end handed its slot over."""
    lock = tmp_path / "lock"
    script = f"mkdir {lock} || exit 3\n{STAMP}\nsleep 0.2\n{STAMP}\nrmdir {lock}\n"
    mission = server.mission
    playbook_id = mission.define(
        "one-at-a-time", {"concurrency": 1, "actions": [{"name": "hold", "exec": {"script": script}}]}
    )
    with ThreadPoolExecutor(6) as pool:
        run_ids = list(pool.map(lambda _: mission.run(playbook_id), range(6)))
    runs = [mission.wait(run_id, timeout=60) for run_id in run_ids]
    assert [r["status"] for r in runs] == ["completed"] * 6, [(r["status"], r["error"]) for r in runs]
    intervals = sorted(
        tuple(float(x) for x in mission.status(run_id)["actions"][0]["result"]["stdout"].split()) for run_id in run_ids
    )
    for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False):
        assert start >= end, intervals


def test_a_running_action_polls_for_cancel_without_write_transactions(server: Embedded) -> None:
    mission = server.mission
    playbook_id = mission.define("sleepy", {"actions": [{"name": "nap", "exec": {"script": "sleep 3"}}]})
    run_id = mission.run(playbook_id)
    _until(
        lambda: mission.status(run_id)["actions"][:1] and mission.status(run_id)["actions"][0]["status"] == "running",
        "the action to run",
    )
    with statements_sent(server.state.engine) as seen:
        time.sleep(2.0)
        still_running = mission.status(run_id)["actions"][0]["status"] == "running"
    assert still_running, "the action ended inside the window: nothing was measured"
    run_thread = [statement for thread, statement, _ in seen if thread.startswith("ara-run")]
    writes = sum(statement == "BEGIN IMMEDIATE" for statement in run_thread)
    reads = sum(statement == "BEGIN" for statement in run_thread)
    print(f"over 2 s of a running action, its run's thread began {writes} write and {reads} read transactions")
    assert writes == 0
    assert 1 <= reads <= 3  # the cancel watch reads at most once a second (and does read: the watch is live)
    assert mission.wait(run_id)["status"] == "completed"
