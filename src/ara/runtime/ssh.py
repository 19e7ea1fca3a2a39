"""The SSH server inside Ara's process: each ``/session/ssh/proxy`` WebSocket carries one SSH connection, served
by asyncssh on the server's event loop over a socketpair (no TCP port is opened).

Only user ``root`` with the public key stored beside the proxy token gets in (no passwords, no forwarding of
ports, agents or X11); each channel's command runs in the session's sandbox (``ara.runtime.ssh_process``). The
host key is generated once under ``base_dir`` (mode 0600) and kept, so clients see one key across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

import asyncssh

from ara.runtime.connect import SSH_USER
from ara.runtime.ssh_process import CHUNK, SshTarget, run_channel

HOST_KEY_NAME = "ssh_host_ed25519_key"
LOGIN_TIMEOUT_SECONDS = 30
# After the SSH side closes, what it wrote last (the exit status, the disconnect) still has to reach the client.
FLUSH_SECONDS = 5
STOPPED_STATUS = 255
log = logging.getLogger(__name__)


class ByteStream(Protocol):
    """The client's byte pipe (the WebSocket): ``receive`` answers None once the client is gone."""

    async def receive(self) -> bytes | None: ...

    async def send(self, data: bytes) -> None: ...


def load_host_key(base_dir: Path) -> asyncssh.SSHKey:
    """The server's host key, generated on first use. Written to a private temporary file and linked into place,
    so two processes (or threads) starting at once agree on one key and nobody reads a half-written file."""
    path = base_dir / HOST_KEY_NAME
    if not path.exists():
        base_dir.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{HOST_KEY_NAME}-", dir=base_dir)  # created 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won: its key is the one
        finally:
            os.unlink(temporary)
    return asyncssh.read_private_key(path)


class _Gate(asyncssh.SSHServer):
    """Public-key authentication for ``root`` with the one key the proxy token admits; nothing else."""

    def __init__(self, allowed: asyncssh.SSHKey) -> None:
        self.allowed = allowed

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == SSH_USER and key.public_data == self.allowed.public_data


async def serve(
    stream: ByteStream,
    *,
    host_key: asyncssh.SSHKey,
    allowed_key: asyncssh.SSHKey,
    target: SshTarget,
    still_running: Callable[[bool], Awaitable[bool]],
    check_seconds: float,
) -> None:
    """Serve one SSH connection over ``stream`` until either side closes it, or its session stops.

    ``still_running(active)`` says whether the session still runs, marking it used when ``active``: it is asked
    when a channel opens (refused once the session stopped) and every ``check_seconds``, active when the client
    sent anything since (typing in a shell keeps the session from its idle stop; a stopped session disconnects)."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    received = False

    async def inbound() -> None:
        nonlocal received
        try:
            while (chunk := await stream.receive()) is not None:
                received = True
                await loop.sock_sendall(ours, chunk)
        finally:
            with contextlib.suppress(OSError):
                ours.shutdown(socket.SHUT_WR)

    async def outbound() -> None:
        while chunk := await loop.sock_recv(ours, CHUNK):
            await stream.send(chunk)

    async def channel(process: asyncssh.SSHServerProcess[bytes]) -> None:
        if not await still_running(True):
            process.stderr.write(
                f"ara: session {target.session_id} is stopped: `ara start`, then `ara connect`\n".encode()
            )
            process.exit(STOPPED_STATUS)
            return
        await run_channel(process, target)

    async def watch(connection: asyncssh.SSHServerConnection) -> None:
        nonlocal received
        while True:
            await asyncio.sleep(check_seconds)
            active, received = received, False
            if not await still_running(active):
                log.info("session %s stopped: closing its SSH connection", target.session_id)
                connection.close()
                return

    receiving, sending = asyncio.create_task(inbound()), asyncio.create_task(outbound())
    try:
        connection = await asyncssh.run_server(
            theirs,
            server_factory=lambda: _Gate(allowed_key),
            server_host_keys=[host_key],
            process_factory=channel,
            encoding=None,
            line_editor=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            login_timeout=LOGIN_TIMEOUT_SECONDS,
        )
        watching = asyncio.create_task(watch(connection))
        try:
            await connection.wait_closed()
        finally:
            watching.cancel()
    except (asyncssh.Error, OSError, TimeoutError) as exc:  # a refused key, a client gone mid-handshake
        log.info("SSH connection to session %s ended: %s", target.session_id, exc)
    finally:
        with contextlib.suppress(OSError):
            theirs.close()
        await asyncio.wait({sending}, timeout=FLUSH_SECONDS)
        for task in (receiving, sending):
            task.cancel()
        await asyncio.gather(receiving, sending, return_exceptions=True)
        ours.close()
