"""Both sandbox backends, real processes: what they run, with which environment, and every limit they promise
(timeout killing the whole process group, output cap, CPU time, memory); which one the server chooses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ara.errors import ConfigError
from ara.runtime.sandbox.base import Sandbox
from ara.runtime.sandbox.select import bwrap_problem, choose_sandbox, sandbox_warning
from ara.runtime.workspace import Workspace
from ara.settings import RuntimeSettings
from tests.support.sandboxes import BACKENDS, bwrap_sandbox, limits, make_workspace, sandbox_named
from tests.support.server import free_port


@pytest.fixture(params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    return sandbox_named(request.param)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path)


def test_runs_argv_in_the_workspace(sandbox: Sandbox, workspace: Workspace) -> None:
    (workspace.workspace_dir / "note.txt").write_text("from the host\n")
    done = sandbox.run(["sh", "-c", 'pwd; cat note.txt; echo "$1" >&2', "sh", "a b; rm -rf /"], workspace=workspace,
                       limits=limits())  # fmt: skip
    assert done.exit_code == 0 and not done.timed_out and not done.truncated
    cwd, note = done.stdout.splitlines()
    expected = "/root/.ara/workspace" if sandbox.strong else str(workspace.workspace_dir.resolve())
    assert (cwd, note) == (expected, "from the host")
    assert done.stderr == "a b; rm -rf /\n"  # an argument stays one argument: no shell on the server's side


def test_environment_is_scrubbed(sandbox: Sandbox, workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARA_SECRET_KEY", "server-secret")
    done = sandbox.run(["env"], workspace=workspace, limits=limits(), env={"GREETING": "hi"})
    env = dict(line.split("=", 1) for line in done.stdout.splitlines())
    assert "server-secret" not in done.stdout and "ARA_SECRET_KEY" not in env
    assert env["GREETING"] == "hi" and "/usr/bin" in env["PATH"]
    assert env["HOME"] == ("/root" if sandbox.strong else str(workspace.root.resolve()))


def test_stdin_reaches_the_command(sandbox: Sandbox, workspace: Workspace) -> None:
    done = sandbox.run(["cat"], workspace=workspace, limits=limits(), stdin=b"piped\n")
    assert (done.exit_code, done.stdout) == (0, "piped\n")
    # A command that never reads a large input still ends at its timeout.
    unread = sandbox.run(["sleep", "30"], workspace=workspace, limits=limits(timeout_seconds=0.5), stdin=b"x" * 10**6)
    assert unread.timed_out


def test_missing_command_fails_clearly(sandbox: Sandbox, workspace: Workspace) -> None:
    done = sandbox.run(["no-such-command-xyz"], workspace=workspace, limits=limits())
    assert done.exit_code not in (0, None) and "no-such-command-xyz" in done.stderr


def test_timeout_kills_the_process_group(sandbox: Sandbox, workspace: Workspace) -> None:
    """A child forked into the background stops ticking when the timeout kills the command."""
    script = "(while :; do echo tick >> ticks; sleep 0.05; done) & sleep 60"
    started = time.monotonic()
    done = sandbox.run(["sh", "-c", script], workspace=workspace, limits=limits(timeout_seconds=1.5))
    assert done.timed_out and done.exit_code is None
    assert time.monotonic() - started < 10
    ticks = workspace.workspace_dir / "ticks"
    assert ticks.exists()
    time.sleep(0.3)  # a tick in flight at the kill lands
    size = ticks.stat().st_size
    time.sleep(0.5)
    assert ticks.stat().st_size == size


def test_background_child_does_not_hold_the_call(sandbox: Sandbox, workspace: Workspace) -> None:
    """The command ended: what it left running (holding stdout open) is killed, the call returns at once."""
    started = time.monotonic()
    done = sandbox.run(["sh", "-c", "sleep 60 & echo started"], workspace=workspace, limits=limits())
    assert (done.exit_code, done.stdout, done.timed_out) == (0, "started\n", False)
    assert time.monotonic() - started < 5


def test_output_is_capped_per_stream(sandbox: Sandbox, workspace: Workspace) -> None:
    script = "head -c 200000 /dev/zero | tr '\\0' o; head -c 10 /dev/zero | tr '\\0' e >&2"
    done = sandbox.run(["sh", "-c", script], workspace=workspace, limits=limits(output_bytes=1000))
    assert done.exit_code == 0 and done.truncated
    assert done.stdout == "o" * 1000 and done.stderr == "e" * 10


def test_cpu_limit_stops_a_busy_loop(sandbox: Sandbox, workspace: Workspace) -> None:
    started = time.monotonic()
    done = sandbox.run(["sh", "-c", "while :; do :; done"], workspace=workspace, limits=limits(cpu_seconds=1))
    assert not done.timed_out and done.exit_code not in (0, None)
    assert time.monotonic() - started < 15


def test_memory_limit(sandbox: Sandbox, workspace: Workspace) -> None:
    allocate = "import sys; b = bytearray(int(sys.argv[1]) * 1024 * 1024); print('allocated')"
    small = sandbox.run(["python3", "-c", allocate, "16"], workspace=workspace, limits=limits(memory_mb=256))
    assert (small.exit_code, small.stdout) == (0, "allocated\n")
    large = sandbox.run(["python3", "-c", allocate, "512"], workspace=workspace, limits=limits(memory_mb=256))
    assert large.exit_code != 0 and "MemoryError" in large.stderr


def test_argv_for_callers_that_drive_the_process(sandbox: Sandbox, workspace: Workspace) -> None:
    argv = sandbox.argv(["sh", "-c", "pwd; echo $HOME"], workspace=workspace)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    expected = "/root/.ara/workspace\n/root\n" if sandbox.strong else f"{workspace.workspace_dir.resolve()}\n"
    assert done.stdout.startswith(expected)


def test_choose_sandbox_prefers_bwrap_and_forced_subprocess_is_announced() -> None:
    bwrap_sandbox()
    chosen = choose_sandbox(RuntimeSettings())
    assert (chosen.name, chosen.strong, sandbox_warning(RuntimeSettings())) == ("bwrap", True, None)
    forced = RuntimeSettings(sandbox="subprocess")
    assert choose_sandbox(forced).name == "subprocess"
    assert "confined subprocess" in (sandbox_warning(forced) or "")


def test_without_bwrap_auto_falls_back_and_forced_bwrap_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    assert choose_sandbox(RuntimeSettings()).name == "subprocess"
    assert "bwrap is not installed" in (sandbox_warning(RuntimeSettings()) or "")
    with pytest.raises(ConfigError, match="not installed"):
        choose_sandbox(RuntimeSettings(sandbox="bwrap"))


def test_a_bwrap_that_cannot_run_here_is_probed_as_unusable(tmp_path: Path) -> None:
    broken = tmp_path / "bwrap"
    broken.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    broken.chmod(0o755)
    assert "No permissions to create new namespace" in (bwrap_problem(str(broken)) or "")


def test_server_start_announces_the_weaker_sandbox_and_refuses_a_missing_forced_one(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "from ara.cli.main import main; main()", "server", "--port", str(free_port())]
    env = {key: value for key, value in os.environ.items() if not key.startswith("ARA_")}
    env.update(ARA_BASE_DIR=str(tmp_path / "base"), PATH=str(tmp_path), ARA_RUNTIME__SANDBOX="bwrap")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Refusing to start: ARA_RUNTIME__SANDBOX=bwrap" in done.stderr
    # Announced before the server builds its app: read the line, then stop it.
    env.update(ARA_RUNTIME__SANDBOX="subprocess")
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as server:
        assert server.stderr is not None
        first = server.stderr.readline()
        server.kill()
    assert "session commands run in a confined subprocess" in first
