"""``ara playbook tail ID`` against a real server while the real ``ansible-playbook`` records a long playbook:
each result printed as it arrives (while the playbook still runs), exit 0 with the final status; a bad id is
exit 2 with one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ara.clients.offline import AraOfflineClient
from ara.server.app import create_app
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.ansible import ansible_env, start_playbook
from tests.support.server import running_server
from tests.web.records_support import LIVE, finish, record_failures, start_live, wait_for_running

TAIL = "from ara.cli.main import main; main()"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("tail-site"))
    create_app(settings, workers=False).state.ara.engine.dispose()  # migrates
    with running_server(settings) as url:
        yield url


def tail(url: str, playbook_id: str, settings: Settings | None = None) -> subprocess.Popen[str]:
    """``ara playbook tail`` in a child process: over http on ``url``, or offline on ``settings``' database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    env.update(PYTHONUNBUFFERED="1", ARA_API_CLIENT="http", ARA_API_SERVER=url, COLUMNS="200")
    if settings is not None:
        env.update(
            ARA_API_CLIENT="offline", ARA_BASE_DIR=str(settings.base_dir), ARA_DATABASE__URL=settings.database_url
        )
    command = [sys.executable, "-c", TAIL, "playbook", "tail", playbook_id]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_tail_prints_results_as_they_arrive_and_exits_with_the_final_status(server: str, tmp_path: Path) -> None:
    playbook = start_live(server, tmp_path)
    try:
        playbook_id = wait_for_running(server)
        lines = []
        status_at_first_result = None
        with tail(server, str(playbook_id)) as follower:
            assert follower.stdout is not None and follower.stderr is not None
            for line in follower.stdout:
                lines.append(line)
                if status_at_first_result is None and "[localhost]" in line:
                    status_at_first_result = httpx.get(f"{server}/api/v1/playbooks/{playbook_id}").json()["status"]
            code = follower.wait(timeout=120)
            stderr = follower.stderr.read()
        output = "".join(lines)
        assert code == 0, (output, stderr)
        assert status_at_first_result == "running", output  # printed live, not after the end
        for step in ("one", "two", "three", "four", "five", "six"):
            assert f"TASK [Step {step}] command" in output
        assert output.count("changed: [localhost] Step") == 6
        assert f"Playbook {playbook_id} ended: completed" in output
        assert "Final status: completed" in stderr
    finally:
        assert finish(playbook) == 0


def test_tail_of_an_ended_playbook_prints_it_and_its_status(server: str, tmp_path: Path) -> None:
    playbook_id = record_failures(server, tmp_path)
    follower = tail(server, str(playbook_id))
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 0, (out, err)
    assert "failed: [localhost] Fail on localhost" in out
    assert "unreachable: [dead-host] Ping everyone" in out
    assert "Final status: failed" in err


@pytest.mark.parametrize("bad", ["999999", "abc", "-3"])
def test_tail_of_a_bad_id_is_exit_2_with_a_message(server: str, bad: str) -> None:
    started = time.monotonic()
    follower = tail(server, bad)
    out, err = follower.communicate(timeout=60)
    assert follower.returncode == 2, (out, err)
    assert "Traceback" not in out + err
    assert err.strip(), "no message"
    assert time.monotonic() - started < 60


def test_tail_with_the_offline_client_polls_and_follows_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "offline")
    create_app(settings, workers=False).state.ara.engine.dispose()  # migrates
    playbook = start_playbook(str(LIVE), ansible_env(tmp_path, client="offline", settings=settings))
    try:
        with AraOfflineClient(settings=settings) as api:
            deadline = time.monotonic() + 60
            while not api.get("/api/v1/playbooks", status="running")["results"]:
                assert time.monotonic() < deadline, "the playbook was never recorded as running"
                time.sleep(0.2)
        lines, running_at_first_result = [], None
        with tail("", "1", settings) as follower:
            assert follower.stdout is not None and follower.stderr is not None
            for line in follower.stdout:
                lines.append(line)
                if running_at_first_result is None and "[localhost]" in line:
                    running_at_first_result = playbook.poll() is None
            code = follower.wait(timeout=120)
            stderr = follower.stderr.read()
        output = "".join(lines)
        assert code == 0, (output, stderr)
        assert running_at_first_result, output  # printed while ansible-playbook still ran
        assert output.count("changed: [localhost] Step") == 6
        assert "Final status: completed" in stderr
    finally:
        assert finish(playbook) == 0
