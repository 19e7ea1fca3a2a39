"""One child process from an argv list (never a shell string), in its own process group so a timeout or a
cancel kills everything it started; its output captured to files, scrubbed of secrets."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ara.engine.actions.base import ActionContext, Outcome, scrub
from ara.redaction import scrub_file

MAX_CAPTURE = 1 << 20  # bytes of stdout/stderr kept in the result; artifacts keep everything


@dataclass
class Finished:
    returncode: int | None
    stdout: str
    stderr: str
    stdout_path: Path
    stderr_path: Path
    timed_out: bool = False
    cancelled: bool = False

    def outcome(self, ctx: ActionContext, files: list[tuple[str, Path]]) -> Outcome:
        result = {"stdout": self.stdout, "stderr": self.stderr, "exitCode": self.returncode}
        if self.timed_out:
            return Outcome(False, result, f"timed out after {ctx.timeout:g}s", timed_out=True, files=files)
        if self.cancelled:
            return Outcome(False, result, "cancelled", cancelled=True, files=files)
        if self.returncode != 0:
            return Outcome(False, result, f"exit code {self.returncode}", files=files)
        return Outcome(True, result, files=files)


def base_env(ctx: ActionContext) -> dict[str, str]:
    """What every action's process starts from: a minimal environment, then the spec's ``env``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(ctx.workdir), "LANG": "C.UTF-8"}
    env.update(ctx.env)
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


#: How often a running action's deadline and cancel flag are looked at (its exit is noticed at once).
CHECK_EVERY = 0.05


class _ExitWatch:
    """Waits for a process to exit, or at most a while: a pidfd wakes the waiter the moment the process exits
    (``Popen.wait(timeout)`` polls with growing sleeps, noticing an exit up to 50 ms late, per run)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        try:
            self.fd: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # not Linux >= 5.3, or the process is gone already
            self.fd = None

    def __enter__(self) -> _ExitWatch:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def wait(self, seconds: float) -> None:
        if self.fd is not None:
            select.select([self.fd], [], [], seconds)
            return
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pass


def run_process(argv: list[str], ctx: ActionContext, env: dict[str, str]) -> Finished:
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = ctx.workdir / "stdout", ctx.workdir / "stderr"
    deadline = time.monotonic() + ctx.timeout
    timed_out = cancelled = False
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            argv, cwd=ctx.workdir, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        with _ExitWatch(proc) as exited:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                elif ctx.cancelled():
                    cancelled = True
                if timed_out or cancelled:
                    _kill_group(proc)
                    break
                exited.wait(CHECK_EVERY)
    return Finished(
        proc.returncode,
        _capture(stdout_path, ctx),
        _capture(stderr_path, ctx),
        stdout_path,
        stderr_path,
        timed_out,
        cancelled,
    )


def _capture(path: Path, ctx: ActionContext) -> str:
    """The capture scrubbed in place (it may become an artifact), and its head for the result."""
    if ctx.secrets:
        clean = path.with_name(path.name + ".scrubbed")
        scrub_file(path, clean, ctx.secrets)
        os.replace(clean, path)
    with path.open("rb") as capture:
        return scrub(capture.read(MAX_CAPTURE).decode("utf-8", "replace"), ctx.secrets)
