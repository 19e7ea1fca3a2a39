"""How actions run: failures, retries (a row per attempt), ``if`` conditions, delays, timeouts, cancel."""

from __future__ import annotations

import time

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
                {"name": "later", "delay": "1.5s", "exec": {"script": "date +%s.%N"}},
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
    assert 1.4 <= gap < 3.0, gap


def test_action_and_run_timeouts(mission: Mission) -> None:
    action_timeout = mission.define(
        "slow-action", {"actions": [{"name": "slow", "timeout": "0.5s", "exec": {"script": "sleep 30"}}]}
    )
    started = time.monotonic()
    run_id = mission.run(action_timeout)
    run = mission.wait(run_id)
    assert run["status"] == "failed" and time.monotonic() - started < 10
    assert _actions(mission, run_id) == [("slow", 1, "timed_out")]

    run_timeout = mission.define(
        "slow-run", {"timeout": "1s", "actions": [{"name": "slow", "exec": {"script": "sleep 30"}}]}
    )
    run_id = mission.run(run_timeout)
    run = mission.wait(run_id)
    assert run["status"] == "timed_out" and "timed out" in run["error"]


def test_cancel_kills_the_process_group(mission: Mission, tmp_path) -> None:
    marker = tmp_path / "child-alive"
    playbook_id = mission.define(
        "cancellable",
        {"actions": [{"name": "long", "exec": {"script": f"(sleep 3; touch {marker}) & sleep 30"}}]},
    )
    run_id = mission.run(playbook_id)
    mission.wait(run_id, "running")
    deadline = time.monotonic() + 10
    while not mission.status(run_id)["actions"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert mission.http.post(f"/playbook/run/cancel/{run_id}").status_code == 200
    run = mission.wait(run_id, "cancelled")
    assert run["status"] == "cancelled"
    time.sleep(3.5)
    assert not marker.exists(), "the background child survived the cancel"
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


def test_concurrency_limit_queues_runs(mission: Mission) -> None:
    playbook_id = mission.define(
        "one-at-a-time", {"concurrency": 1, "actions": [{"name": "hold", "exec": {"script": "sleep 0.6"}}]}
    )
    first, second = mission.run(playbook_id), mission.run(playbook_id)
    mission.wait(first, "running")
    time.sleep(0.3)
    assert mission.get(second)["status"] == "scheduled"
    assert mission.wait(first)["status"] == "completed"
    assert mission.wait(second)["status"] == "completed"
    a, b = mission.get(first), mission.get(second)
    assert b["start_time"] >= a["end_time"]
