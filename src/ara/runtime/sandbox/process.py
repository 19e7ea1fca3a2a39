"""Running one sandboxed process to its end or its limits, shared by both backends.

The process gets its own process group (``start_new_session``) and rlimits set between fork and exec; a wall-clock
timeout kills the whole group, so children it forked die with it. Each output stream is read in chunks and only
``Limits.output_bytes`` are kept (the rest is drained and dropped, so a chatty command neither blocks nor fills the
server's memory)."""

from __future__ import annotations

import os
import resource
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ara.runtime.sandbox.base import Completed, Limits

_CHUNK = 64 * 1024
_LINGER = 1.0


def limit_preexec(limits: Limits) -> Callable[[], None]:
    """What runs in the child before exec: CPU seconds and address space (callers that spawn a sandboxed process
    themselves, an SSH shell, pass it as ``preexec_fn`` with ``start_new_session=True``)."""
    cpu = max(1, int(limits.cpu_seconds))
    memory = max(1, int(limits.memory_mb)) * 1024 * 1024

    def apply() -> None:
        # The hard CPU limit one second above the soft one: SIGXCPU first, SIGKILL if the process ignores it.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _Capped:
    """One stream's kept bytes, at most ``cap`` of them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.truncated = False

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self.data)
        if len(chunk) > room:
            self.truncated = True
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def run_process(
    argv: Sequence[str],
    *,
    limits: Limits,
    cwd: str,
    env: Mapping[str, str],
    stdin: bytes | None = None,
) -> Completed:
    """Run ``argv`` (already wrapped by a backend) and collect what it did within ``limits``."""
    started = time.monotonic()
    deadline = started + limits.timeout_seconds
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            preexec_fn=limit_preexec(limits),  # noqa: PLW1509 - only setrlimit calls, safe between fork and exec
            close_fds=True,
        )
    except OSError as exc:  # the command itself is missing or not executable (confined backend)
        return Completed(127, "", f"{argv[0]}: {exc.strerror or exc}\n", False, False, time.monotonic() - started)
    if stdin is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
    streams = {proc.stdout: _Capped(limits.output_bytes), proc.stderr: _Capped(limits.output_bytes)}
    timed_out = _pump(proc, streams, deadline)
    # Whatever the command left behind in its group (a background child) does not outlive it.
    kill_group(proc.pid)
    returncode = proc.wait()
    exit_code = None if timed_out else returncode
    out, err = streams.values()
    return Completed(
        exit_code, out.text(), err.text(), timed_out, out.truncated or err.truncated, time.monotonic() - started
    )


def _pump(proc: subprocess.Popen[bytes], streams: dict[Any, _Capped], deadline: float) -> bool:
    """Reads both pipes until the process exits and they close, or the deadline passes (then kills the group and
    answers True). When the process exits its group is killed, and pipes still held open by something that left
    the group are drained for at most ``_LINGER`` seconds more."""
    selector = selectors.DefaultSelector()
    for pipe in streams:
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe, selectors.EVENT_READ)
    try:
        while True:
            if proc.poll() is not None:
                kill_group(proc.pid)
                deadline = min(deadline, time.monotonic() + _LINGER)
                _drain(selector, streams, deadline)
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_group(proc.pid)
                return True
            if not selector.get_map():  # both pipes closed: only the exit is left to wait for
                try:
                    proc.wait(timeout=remaining)
                except subprocess.TimeoutExpired:
                    kill_group(proc.pid)
                    return True
                continue
            _read_ready(selector, streams, min(remaining, 0.2))
    finally:
        selector.close()
        for pipe in streams:
            pipe.close()


def _drain(selector: selectors.BaseSelector, streams: dict[Any, _Capped], deadline: float) -> None:
    while selector.get_map() and time.monotonic() < deadline:
        _read_ready(selector, streams, max(0.0, deadline - time.monotonic()))


def _read_ready(selector: selectors.BaseSelector, streams: dict[Any, _Capped], timeout: float) -> None:
    for key, _ in selector.select(timeout):
        chunk = os.read(key.fd, _CHUNK)
        if chunk:
            streams[key.fileobj].feed(chunk)
        else:
            selector.unregister(key.fileobj)
