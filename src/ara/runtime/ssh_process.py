"""One SSH channel's command, run in the session's sandbox: ``ssh host 'cmd'`` runs ``/bin/sh -c cmd``, a shell
request runs an interactive shell; stdin, stdout, stderr and the exit status pass through.

The process is started here (not by ``Sandbox.run``, which collects output to its end): its own process group
with the sandbox's CPU and memory rlimits, a clean environment, killed with its group when it ends, when the
channel closes or, for a command, after ``limits.timeout_seconds`` (exit status 124, as ``timeout(1)``). A shell
has no wall-clock limit: disconnecting or the session's idle stop ends it. Output is passed on, not capped: it goes
to the user's own terminal. With a pty (``ssh -t``, or a plain ``ssh host``) the command gets a pseudo-terminal of
the client's size; the sandbox starts it in a new session (bubblewrap's ``--new-session`` stops a sandboxed
process from typing into a terminal outside), so there is no job control and Ctrl-C does not signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import select
import shutil
import struct
import termios
from asyncio.subprocess import PIPE
from dataclasses import dataclass
from typing import Any

import asyncssh

from ara.runtime.sandbox.base import Limits, Sandbox
from ara.runtime.sandbox.process import kill_group, limit_preexec
from ara.runtime.workspace import SANDBOX_WORKSPACE, Workspace

CHUNK = 64 * 1024
# Output still arriving after the process exited (from a child that left its group) is read this long at most.
LINGER_SECONDS = 1.0
TIMED_OUT_STATUS = 124
NOT_SUPPORTED_STATUS = 1
NOT_STARTED_STATUS = 127


@dataclass(frozen=True)
class SshTarget:
    """Where a connection's commands run: the session's directory, its network policy, the sandbox, its limits."""

    session_id: str
    workspace: Workspace
    network: bool
    sandbox: Sandbox
    limits: Limits


def shell_argv() -> list[str]:
    """bash where the system has it (line editing at the prompt), else the POSIX shell."""
    return ["/bin/bash", "-i"] if shutil.which("bash", path="/usr/bin:/bin") else ["/bin/sh", "-i"]


def command_argv(process: asyncssh.SSHServerProcess[bytes]) -> list[str]:
    argv = ["/bin/sh", "-c", process.command] if process.command is not None else shell_argv()
    term = process.get_terminal_type()
    # The sandbox's environment is fixed (TERM=dumb); a terminal client's type is set inside it.
    return ["/usr/bin/env", f"TERM={term}", *argv] if term else argv


async def run_channel(process: asyncssh.SSHServerProcess[bytes], target: SshTarget) -> None:
    """asyncssh's ``process_factory``: run the channel's command to its end and report its exit status."""
    if process.subsystem is not None:
        process.stderr.write(f"ara: the {process.subsystem} subsystem is not offered; use ssh or scp -O\n".encode())
        process.exit(NOT_SUPPORTED_STATUS)
        return
    argv = target.sandbox.argv(
        command_argv(process), workspace=target.workspace, cwd=str(SANDBOX_WORKSPACE), network=target.network
    )
    timeout = target.limits.timeout_seconds if process.command is not None else None
    runner = _PtyRun(process) if process.get_terminal_type() else _PipeRun(process)
    try:
        status = await runner.run(argv, target, timeout)
    except OSError as exc:  # the sandbox itself could not start
        process.stderr.write(f"ara: cannot start the command in the sandbox: {exc}\n".encode())
        status = NOT_STARTED_STATUS
    finally:
        runner.close()
    with contextlib.suppress(OSError, asyncssh.Error):
        process.exit(status)


class _Run:
    """What both modes share: start in a process group, wait for the exit, the channel's end or the time-out."""

    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        self.process = process
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, argv: list[str], target: SshTarget, **streams: Any) -> asyncio.subprocess.Process:
        # bwrap starts from the session directory with an empty environment; the command's own is in its argv.
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(target.workspace.root),
            env={},
            start_new_session=True,
            preexec_fn=limit_preexec(target.limits),  # noqa: PLW1509 - only setrlimit calls between fork and exec
            **streams,
        )

    async def wait(
        self, proc: asyncio.subprocess.Process, outputs: list[asyncio.Task[None]], timeout: float | None
    ) -> int:
        """The exit status; the group is killed at the end, whatever ended it."""
        exited = asyncio.ensure_future(proc.wait())
        closed = asyncio.ensure_future(self.process.wait_closed())
        try:
            done, _ = await asyncio.wait({exited, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if exited not in done:
                kill_group(proc.pid)
                if closed not in done:  # still connected: the command ran out of time
                    self.process.stderr.write(f"ara: timed out after {timeout:g} s\n".encode())
                await proc.wait()
                status = TIMED_OUT_STATUS
            else:
                status = exited.result()
            kill_group(proc.pid)
            if outputs:
                await asyncio.wait(outputs, timeout=LINGER_SECONDS)
            return status if status >= 0 else 128 - status  # killed by a signal: 128 + its number, as shells say
        finally:
            closed.cancel()
            for task in outputs:
                task.cancel()

    def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            kill_group(self.proc.pid)


class _PipeRun(_Run):
    async def run(self, argv: list[str], target: SshTarget, timeout: float | None) -> int:
        proc = self.proc = await self.start(argv, target, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        outputs = [
            asyncio.create_task(_copy_out(proc.stdout, self.process.stdout)),
            asyncio.create_task(_copy_out(proc.stderr, self.process.stderr)),
        ]
        feeding = asyncio.create_task(_copy_in(self.process.stdin, proc.stdin))
        try:
            return await self.wait(proc, outputs, timeout)
        finally:
            feeding.cancel()


class _PtyRun(_Run):
    def __init__(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        super().__init__(process)
        self.master, self.slave = pty.openpty()
        _resize(self.master, process.get_terminal_size())

    async def run(self, argv: list[str], target: SshTarget, timeout: float | None) -> int:
        self.proc = await self.start(argv, target, stdin=self.slave, stdout=self.slave, stderr=self.slave)
        os.close(self.slave)
        self.slave = -1
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(self.master), "rb", buffering=0)
        )
        outputs = [asyncio.create_task(_copy_out(reader, self.process.stdout))]
        feeding = asyncio.create_task(self._feed())
        try:
            return await self.wait(self.proc, outputs, timeout)
        finally:
            feeding.cancel()
            read_transport.close()

    async def _feed(self) -> None:
        """Keys to the terminal; a window change resizes it."""
        while True:
            try:
                data = await self.process.stdin.read(CHUNK)
            except asyncssh.TerminalSizeChanged as change:
                _resize(self.master, (change.width, change.height, change.pixwidth, change.pixheight))
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                continue
            if not data:
                return
            await asyncio.to_thread(_write_all, self.master, data)

    def close(self) -> None:
        super().close()
        for fd in (self.master, self.slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self.slave = -1


def _resize(fd: int, size: tuple[int, int, int, int]) -> None:
    width, height, pixwidth, pixheight = size
    if width and height:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, pixwidth, pixheight))


def _write_all(fd: int, data: bytes) -> None:
    """Blocking write to the pty (its reader made the shared file description non-blocking: wait when full)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)


async def _copy_out(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
    """A process stream to the channel, until EOF (a pty's master reads EIO once its last holder is gone)."""
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
    except (OSError, asyncssh.Error):
        return


async def _copy_in(source: asyncssh.SSHReader[bytes], sink: asyncio.StreamWriter) -> None:
    """The channel's stdin to the process, closing it at the client's EOF."""
    try:
        while True:
            try:
                chunk = await source.read(CHUNK)
            except (asyncssh.BreakReceived, asyncssh.SignalReceived, asyncssh.TerminalSizeChanged):
                continue
            if not chunk:
                break
            sink.write(chunk)
            await sink.drain()
    except (OSError, asyncssh.Error):
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.close()
