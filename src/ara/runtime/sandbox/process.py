"""Running one sandboxed process to its end or its limits, shared by both backends.

The process gets its own process group (``start_new_session``) and rlimits set before the command starts; a wall-clock
timeout kills the whole group, so children it forked die with it. Each output stream is read in chunks and only
``Limits.output_bytes`` are kept (the rest is drained and dropped, so a chatty command neither blocks nor fills the
server's memory)."""

from __future__ import annotations

import functools
import os
import resource
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from ara.runtime.sandbox.base import Completed, Limits

_CHUNK = 64 * 1024
_LINGER = 1.0
_EXIT = object()


def _rlimits(limits: Limits) -> tuple[int, int]:
    return max(1, int(limits.cpu_seconds)), max(1, int(limits.memory_mb)) * 1024 * 1024


@functools.cache
def _prlimit() -> str | None:
    return shutil.which("prlimit")


def limited(argv: Sequence[str], limits: Limits) -> tuple[list[str], Callable[[], None] | None]:
    """``argv`` with the CPU-time, address-space and core-size limits applied before the command starts, and the
    ``preexec_fn`` to pass with it (``None`` when util-linux's ``prlimit`` applies them).

    ``prlimit`` costs one exec (~1 ms here); a ``preexec_fn`` forces ``fork`` instead of ``vfork`` and runs Python
    in the child, which measured 7-12 ms per command on this 2-core machine: hence it is only the fallback."""
    prlimit = _prlimit()
    if prlimit is None:
        return list(argv), limit_preexec(limits)
    cpu, memory = _rlimits(limits)
    return [prlimit, f"--cpu={cpu}:{cpu + 1}", f"--as={memory}", "--core=0", "--", *argv], None


def limit_preexec(limits: Limits) -> Callable[[], None]:
    """What runs in the child before exec: CPU seconds and address space (callers that spawn a sandboxed process
    themselves, an SSH shell, pass it as ``preexec_fn`` with ``start_new_session=True``)."""
    cpu, memory = _rlimits(limits)

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
    command, preexec = limited(argv, limits)
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            preexec_fn=preexec,  # only setrlimit calls, and only where prlimit is missing
            close_fds=True,
        )
    except OSError as exc:  # the command itself is missing or not executable (confined backend)
        return Completed(127, "", f"{argv[0]}: {exc.strerror or exc}\n", False, False, time.monotonic() - started)
    if stdin is not None and proc.stdin is not None:
        # A thread, so that a command that never reads its input cannot hold the call past its timeout.
        threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True).start()
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


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
    except OSError:  # the command exited or was killed without reading it all
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def _pump(proc: subprocess.Popen[bytes], streams: dict[Any, _Capped], deadline: float) -> bool:
    """Reads both pipes until the process exits, or the deadline passes (then kills the group and answers True).
    The exit wakes the selector through a pidfd, so nothing polls. When the process exits its group is killed, and
    pipes still held open by something that left the group are drained for at most ``_LINGER`` seconds more."""
    selector = selectors.DefaultSelector()
    for pipe in streams:
        os.set_blocking(pipe.fileno(), False)
        selector.register(pipe, selectors.EVENT_READ)
    pidfd = _pidfd(proc.pid)
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ, data=_EXIT)
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_group(proc.pid)
                return True
            # Without a pidfd (an old kernel), look at the process every 10 ms.
            exited = _read_ready(selector, streams, remaining if pidfd is not None else min(remaining, 0.01))
            if exited or (pidfd is None and proc.poll() is not None):
                kill_group(proc.pid)
                if pidfd is not None:
                    selector.unregister(pidfd)
                _drain(selector, streams, min(deadline, time.monotonic() + _LINGER))
                return False
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)
        for pipe in streams:
            pipe.close()


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _drain(selector: selectors.BaseSelector, streams: dict[Any, _Capped], deadline: float) -> None:
    while selector.get_map() and time.monotonic() < deadline:
        _read_ready(selector, streams, max(0.0, deadline - time.monotonic()))


def _read_ready(selector: selectors.BaseSelector, streams: dict[Any, _Capped], timeout: float) -> bool:
    """Reads what is ready (unregistering closed pipes); True when the process's exit was among it."""
    exited = False
    for key, _ in selector.select(timeout):
        if key.data is _EXIT:
            exited = True
            continue
        chunk = os.read(key.fd, _CHUNK)
        if chunk:
            streams[key.fileobj].feed(chunk)
        else:
            selector.unregister(key.fileobj)
    return exited
