"""Runs execute in ``ara worker`` processes too; a worker that dies is noticed and its run failed with a reason."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.support.mission import Mission, mission_control

# Heartbeats every 1.3 s: a live worker must miss three in a row to be declared dead, a killed one is noticed
# 4 s after its last report.
HEARTBEAT_TIMEOUT = "4"


@pytest.fixture
def server_without_threads(tmp_path: Path) -> Iterator[Mission]:
    settings = make_settings(
        tmp_path, engine={"poll_interval": 0.1, "heartbeat_timeout": HEARTBEAT_TIMEOUT, "workers": 0}
    )
    with mission_control(settings) as mc:
        yield mc


def _worker(mission: Mission, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ARA_")},
        "ARA_BASE_DIR": str(mission.settings.base_dir),
        "ARA_DATABASE__URL": mission.settings.database_url,
        "ARA_ENGINE__POLL_INTERVAL": "0.1",
        "ARA_ENGINE__HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT,
    }
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ara.cli.main import main; main()",
            "worker",
            "--threads",
            "1",
            "--no-housekeeping",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
    return proc


def test_external_worker_runs_and_a_killed_worker_is_detected(server_without_threads: Mission, tmp_path: Path) -> None:
    mission = server_without_threads
    quick = mission.define("quick", {"actions": [{"name": "hi", "exec": {"script": "echo from worker"}}]})
    pid_file = tmp_path / "action.pid"
    slow = mission.define(
        "slow", {"actions": [{"name": "hold", "exec": {"script": f"echo $$ > {pid_file}; sleep 60"}}]}
    )

    run_id = mission.run(quick)
    time.sleep(1)
    assert mission.get(run_id)["status"] == "scheduled"  # the server executes nothing itself (10 polls later)
    worker = _worker(mission, tmp_path)
    try:
        assert mission.wait(run_id, timeout=60)["status"] == "completed"
        slow_run = mission.run(slow)
        mission.wait(slow_run, "running", timeout=60)
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        run = mission.wait(slow_run, "failed", timeout=60)
        assert "stopped reporting" in run["error"]
        assert mission.status(slow_run)["actions"][0]["status"] == "failed"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if pid_file.exists():
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
