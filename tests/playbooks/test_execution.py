"""How actions run: failures, retries (a row per attempt), ``if`` conditions, delays, timeouts, cancel."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support.mission import Mission


def _actions(mission: Mission, run_id: str) -> list[tuple[str, int, str]]:
    return [(a["name"], a["attempt"], a["status"]) for a in mission.status(run_id)["actions"]]


def test_failing_exec_fails_the_run_and_later_actions_follow_their_if(mission: Mission) -> None:
    playbook_id = mission.define(
        "conditions",
        {
            "actions": [
                {"name": "first", "exec": {"script": "echo first-output"}},
                {"name": "breaks", "exec": {"script": "echo oops >&2; exit 3"}},
                {"name": "plain", "exec": {"script": "echo never"}},
                {"name": "on-failure", "if": "failure()", "exec": {"script": "echo cleaning"}},
                {"name": "on-success", "if": "success()", "exec": {"script": "echo never"}},
                {"name": "always", "if": "always()", "exec": {"script": "echo always"}},
                {"name": "skipped", "if": "skip()", "exec": {"script": "echo never"}},
                {
                    "name": "uses-result",
                    "if": 'always() && getAction("first").result.stdout.startsWith("first")',
                    "exec": {"script": "echo '{{ getAction(\"first\").result.stdout | trim }}'"},
                },
            ]
        },
    )
    run_id = mission.run(playbook_id)
    run = mission.wait(run_id)
    assert run["status"] == "failed" and "breaks" in run["error"]
    assert _actions(mission, run_id) == [
        ("first", 1, "completed"),
        ("breaks", 1, "failed"),
        ("plain", 1, "skipped"),
        ("on-failure", 1, "completed"),
        ("on-success", 1, "skipped"),
        ("always", 1, "completed"),
        ("skipped", 1, "skipped"),
        ("uses-result", 1, "completed"),
    ]
    results = {a["name"]: a["result"] for a in mission.status(run_id)["actions"]}
    assert results["breaks"]["exitCode"] == 3 and results["breaks"]["stderr"] == "oops\n"
    assert results["uses-result"]["stdout"] == "first-output\n"
    failed = mission.http.get("/api/v1/results", params={"status": "failed"}).json()
    assert failed["count"] == 1  # the failed action is a failed result in the records API


def test_retries_make_one_row_per_attempt(mission: Mission) -> None:
    playbook_id = mission.define(
        "retries",
        {"actions": [{"name": "flaky", "retry": {"limit": 2, "duration": "0.2s"}, "exec": {"script": "exit 1"}}]},
    )
    run_id = mission.run(playbook_id)
    assert mission.wait(run_id)["status"] == "failed"
    assert _actions(mission, run_id) == [("flaky", 1, "failed"), ("flaky", 2, "failed"), ("flaky", 3, "failed")]

    recovers = mission.define(
        "recovers",
        {
            "actions": [
                {
                    "name": "second-time-lucky",
                    "retry": {"limit": 3, "duration": "0.1s", "exponent": {"multiplier": 2}},
                    "exec": {
                        "script": "test -f /tmp/ara-test-$(.run.id) && exit 0; touch /tmp/ara-test-$(.run.id); exit 1"
                    },
                }
            ]
        },
    )
    run_id = mission.run(recovers)
    assert mission.wait(run_id)["status"] == "completed"
    assert _actions(mission, run_id) == [("second-time-lucky", 1, "failed"), ("second-time-lucky", 2, "completed")]


def test_delay_sleeps_then_resumes_on_time(mission: Mission) -> None:
    playbook_id = mission.define(
        "delayed",
        {
            "actions": [
                {"name": "now", "exec": {"script": "date +%s.%N"}},
                {"name": "later", "delay": "2s", "exec": {"script": "date +%s.%N"}},
            ]
        },
    )
    run_id = mission.run(playbook_id)
    sleeping = mission.wait(run_id, "sleeping", "completed", "failed")
    assert sleeping["status"] == "sleeping"
    assert ("later", 1, "sleeping") in _actions(mission, run_id)
    assert mission.wait(run_id)["status"] == "completed"
    results = {a["name"]: float(a["result"]["stdout"]) for a in mission.status(run_id)["actions"]}
    gap = results["later"] - results["now"]
    assert 1.9 <= gap < 30, gap  # never early; how late depends on the machine's load


def test_action_and_run_timeouts(mission: Mission) -> None:
    action_timeout = mission.define(
        "slow-action", {"actions": [{"name": "slow", "timeout": "0.5s", "exec": {"script": "sleep 30"}}]}
    )
    started = time.monotonic()
    run_id = mission.run(action_timeout)
    run = mission.wait(run_id)
    assert run["status"] == "failed" and time.monotonic() - started < 25  # far less than the script's 30 s
    assert _actions(mission, run_id) == [("slow", 1, "timed_out")]

    run_timeout = mission.define(
        "slow-run", {"timeout": "1s", "actions": [{"name": "slow", "exec": {"script": "sleep 30"}}]}
    )
    run_id = mission.run(run_timeout)
    run = mission.wait(run_id)
    assert run["status"] == "timed_out" and "timed out" in run["error"]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_cancel_kills_the_process_group(mission: Mission, tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    playbook_id = mission.define(
        "cancellable",
        {
            "actions": [
                {"name": "long", "exec": {"script": f"sh -c 'echo $$ > {child_pid}; exec sleep 300' & sleep 300"}}
            ]
        },
    )
    run_id = mission.run(playbook_id)
    deadline = time.monotonic() + 60
    while not (child_pid.exists() and child_pid.read_text().strip()):
        assert time.monotonic() < deadline, "the background child never started"
        time.sleep(0.05)
    pid = int(child_pid.read_text())
    assert _alive(pid)
    assert mission.http.post(f"/playbook/run/cancel/{run_id}").status_code == 200
    run = mission.wait(run_id, "cancelled")
    assert run["status"] == "cancelled"
    deadline = time.monotonic() + 30
    while _alive(pid):  # the background child, not only the script, dies with the cancel
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the background child survived the cancel")
        time.sleep(0.05)
    assert _actions(mission, run_id)[0][2] == "cancelled"
    assert mission.http.post(f"/playbook/run/cancel/{run_id}").status_code == 400


def test_spec_snapshot_survives_an_edit_and_rerun(mission: Mission) -> None:
    playbook_id = mission.define(
        "snapshot",
        {
            "parameters": [{"name": "who"}],
            "actions": [{"name": "greet", "delay": "1s", "exec": {"script": "echo v1 {{ params.who }}"}}],
        },
    )
    run_id = mission.run(playbook_id, params={"who": "ann"})
    edited = mission.http.put(
        f"/playbook/{playbook_id}",
        json={
            "name": "snapshot",
            "spec": {
                "parameters": [{"name": "who"}],
                "actions": [{"name": "greet", "exec": {"script": "echo v2 {{ params.who }}"}}],
            },
        },
    )
    assert edited.status_code == 200
    assert mission.wait(run_id)["status"] == "completed"
    assert mission.status(run_id)["actions"][0]["result"]["stdout"] == "v1 ann\n"
    rerun = mission.http.post(f"/playbook/run/rerun/{run_id}")
    assert rerun.status_code == 201
    new_id = rerun.json()["run_id"]
    assert mission.wait(new_id)["status"] == "completed"
    assert mission.status(new_id)["actions"][0]["result"]["stdout"] == "v2 ann\n"
    assert mission.get(new_id)["request"]["rerun_of"] == run_id


def test_concurrency_limit_queues_runs(mission: Mission, tmp_path: Path) -> None:
    """The first run holds until the test releases it, so the second cannot start early on any machine; another
    playbook's run completing meanwhile proves the worker did claim runs while the second waited."""
    release = tmp_path / "release"
    playbook_id = mission.define(
        "one-at-a-time",
        {
            "concurrency": 1,
            "actions": [{"name": "hold", "exec": {"script": f"while [ ! -f {release} ]; do sleep 0.05; done"}}],
        },
    )
    other = mission.define("other", {"actions": [{"name": "quick", "exec": {"script": "true"}}]})
    first = mission.run(playbook_id)
    mission.wait(first, "running")
    second = mission.run(playbook_id)
    assert mission.wait(mission.run(other))["status"] == "completed"
    assert mission.wait(mission.run(other))["status"] == "completed"
    assert mission.get(second)["status"] == "scheduled"
    assert mission.get(first)["status"] == "running"
    release.touch()
    assert mission.wait(first)["status"] == "completed"
    assert mission.wait(second)["status"] == "completed"
    a, b = mission.get(first), mission.get(second)
    assert b["start_time"] >= a["end_time"]


def test_a_script_without_a_shebang_runs_under_the_bash_its_own_path_finds(mission: Mission, tmp_path: Path) -> None:
    """The interpreter is looked up on the action's ``PATH`` (its ``env`` may set one), as the process would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").write_text('#!/bin/sh\necho "our bash ran $1"\n')
    (bin_dir / "bash").chmod(0o755)
    script = {"script": "echo the real bash"}
    playbook_id = mission.define(
        "interpreters",
        {
            "actions": [
                {"name": "default", "exec": script},
                {"name": "own", "exec": {**script, "env": {"PATH": f"{bin_dir}:{os.environ['PATH']}"}}},
            ]
        },
    )
    run_id = mission.run(playbook_id)
    assert mission.wait(run_id)["status"] == "completed"
    stdout = {a["name"]: a["result"]["stdout"] for a in mission.status(run_id)["actions"]}
    assert stdout["default"] == "the real bash\n"
    assert stdout["own"].startswith("our bash ran ") and stdout["own"].strip().endswith("/script")
