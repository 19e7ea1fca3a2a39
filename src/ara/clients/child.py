"""The offline API in a child process: no server and no port, but none of the API's work in the caller's process.

``AraOfflineClient(isolate=True)`` talks to ``python -m ara.clients.child`` over its stdin/stdout. The Ansible
callback uses it: ansible-playbook's main process runs the strategy loop and forks a worker per task and host,
so every millisecond of validation, SQL and JSON done there (and every hand-off of the GIL to the sender
thread) delays the run, and a fork must never happen while this process sits inside a SQLite transaction.
In a child the API runs on the other core and the parent only writes and reads pipes.

Frames are a 4-byte big-endian length and a JSON header, then a length and the raw body. The first frame
carries the settings (the parent's, so an explicit ``Settings`` reaches the child without the environment).
The child ignores SIGINT and SIGTERM, which Ansible's process group receives too: the callback still has a
playbook to mark ``expired`` after Ctrl-C. It exits when its stdin closes, after answering what it had read,
so even a parent killed outright leaves no process behind.

A process forked from the parent (an Ansible worker running ``ara_record``) cannot share the pipes: it
connects to the same child over a Unix socket in a directory only this user can enter (the child listens there
before it answers its first request), speaking the same frames. Serving its requests in the worker instead
meant importing and building the whole API there, about two seconds a task. A worker forked before the
child started (or after it died) serves its own requests, as the plain offline client does; the parent holds
no database state that such a worker could inherit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

import httpx

from ara.settings import Settings

_LENGTH = struct.Struct(">I")
SOCKET_NAME = "api.sock"
CONNECT_WAIT = 10.0  # seconds a forked process waits for a child still starting to listen


def write_frame(stream: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    encoded = json.dumps(header).encode("utf-8")
    stream.write(_LENGTH.pack(len(encoded)) + encoded + _LENGTH.pack(len(body)) + body)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError("the other side closed the pipe")
    return data


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    (header_size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    header = json.loads(_read_exactly(stream, header_size))
    (body_size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    return header, _read_exactly(stream, body_size) if body_size else b""


class ChildProcessTransport(httpx.BaseTransport):
    """Hands each request to the API running in a child process started on first use."""

    def __init__(self, settings: Settings, *, run_sql_migrations: bool) -> None:
        self.settings = settings
        self.run_sql_migrations = run_sql_migrations
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()
        self._socket: str | None = None  # where the child also listens, for processes forked from this one
        self._local: httpx.BaseTransport | None = None  # in a forked process that cannot reach the child
        self._forked: tuple[int, threading.Lock, socket.socket | None] | None = None  # (pid, lock, connection)

    def _child(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                raise httpx.ConnectError(f"the offline API process exited with {self._process.returncode}")
            self._socket = os.path.join(tempfile.mkdtemp(prefix="ara-offline-"), SOCKET_NAME)  # 0700: this user only
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ara.clients.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
            assert self._process.stdin is not None
            first = {
                "settings": self.settings.model_dump(mode="json"),
                "migrate": self.run_sql_migrations,
                "socket": self._socket,
            }
            write_frame(self._process.stdin, first)
        return self._process

    def _in_this_process(self) -> httpx.BaseTransport:
        if self._local is None:
            from ara.clients.inprocess import InProcessTransport
            from ara.server.app import create_app

            self._local = InProcessTransport(create_app(self.settings, run_migrations=False, workers=False))
        return self._local

    def _connected(self) -> tuple[threading.Lock, socket.socket | None]:
        """In a forked process: its own lock (the inherited one may have been held at the fork) and its connection
        to the parent's child, or None when there is no child to reach."""
        pid = os.getpid()
        if self._forked is None or self._forked[0] != pid:
            self._forked = (pid, threading.Lock(), self._connect())
        return self._forked[1], self._forked[2]

    def _connect(self) -> socket.socket | None:
        if self._process is None or self._socket is None:
            return None  # forked before the parent started its child
        deadline = time.monotonic() + CONNECT_WAIT
        while True:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(self._socket)
                return connection
            except OSError:
                connection.close()
                child_listens = _alive(self._process.pid) and os.path.isdir(os.path.dirname(self._socket))
                if not child_listens or time.monotonic() > deadline:
                    return None  # the child is gone, or cannot listen (it removed the directory)
                time.sleep(0.05)  # still starting: it listens before it answers the parent's first request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if os.getpid() != self._pid:
            lock, connection = self._connected()
            if connection is None:
                return self._in_this_process().handle_request(request)
            with lock, connection.makefile("rb") as reader, connection.makefile("wb") as writer:
                return _exchange(request, writer, reader)
        with self._lock:
            process = self._child()
            assert process.stdin is not None and process.stdout is not None
            return _exchange(request, process.stdin, process.stdout)

    def close(self) -> None:
        if os.getpid() != self._pid:
            if self._forked is not None and self._forked[0] == os.getpid() and self._forked[2] is not None:
                self._forked[2].close()
            return
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.stdin is not None:
            process.stdin.close()  # the child answers what it read, then exits
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._socket is not None:
            # The child removes it too, unless it was killed.
            shutil.rmtree(os.path.dirname(self._socket), ignore_errors=True)


def _exchange(request: httpx.Request, writer: IO[bytes], reader: IO[bytes]) -> httpx.Response:
    """One request written to the child and its answer read back (over its pipes or a forked process's socket)."""
    body = request.read()
    header = {"method": request.method, "url": str(request.url), "headers": _decoded(request.headers.raw)}
    try:
        write_frame(writer, header, body)
        answer, content = read_frame(reader)
    except (OSError, EOFError) as exc:
        raise httpx.ReadError(f"the offline API process stopped answering: {exc}") from exc
    return httpx.Response(answer["status"], headers=_encoded(answer["headers"]), content=content, request=request)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a forked process cannot wait for its parent's child)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user's
    return True


def _encoded(pairs: list[list[str]]) -> list[tuple[bytes, bytes]]:
    """Headers as a frame carries them (JSON strings), back to the bytes httpx takes."""
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def _decoded(raw: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child's loop: one request at a time, in the order written, until stdin closes."""
    from ara.clients.inprocess import InProcessTransport
    from ara.server.app import create_app

    first, _ = read_frame(stdin)
    settings = Settings.model_validate(first["settings"])
    app = create_app(settings, run_migrations=bool(first["migrate"]), workers=False)
    transport = InProcessTransport(app)
    listener = _listen(first["socket"], transport) if first.get("socket") else None
    try:
        _answer(stdin, stdout, transport)
    finally:
        if listener is not None:
            listener.close()
            shutil.rmtree(os.path.dirname(first["socket"]), ignore_errors=True)
        app.state.ara.engine.dispose()


def _answer(reader: IO[bytes], writer: IO[bytes], transport: httpx.BaseTransport) -> None:
    """Requests read from ``reader`` answered on ``writer``, in order, until the other side closes."""
    while True:
        try:
            header, body = read_frame(reader)
        except (EOFError, OSError):
            return
        request = httpx.Request(header["method"], header["url"], headers=_encoded(header["headers"]), content=body)
        response = transport.handle_request(request)
        answer = {"status": response.status_code, "headers": _decoded(response.headers.raw)}
        write_frame(writer, answer, response.content)


def _listen(path: str, transport: httpx.BaseTransport) -> socket.socket | None:
    """The Unix socket processes forked from the parent connect to: a thread per connection, each answered in
    order (the API's own transport is safe to call from several threads)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen()
    except OSError as exc:  # a path too long for a socket (a deep TMPDIR), say: forked processes serve themselves
        listener.close()
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)  # tells them not to wait
        print(f"ara: forked processes will start the API themselves: cannot listen on {path}: {exc}", file=sys.stderr)
        return None

    def serve_connection(connection: socket.socket) -> None:
        try:
            with connection, connection.makefile("rb") as reader, connection.makefile("wb") as writer:
                _answer(reader, writer, transport)
        except OSError:
            pass  # the forked process went away mid-answer: nobody is left to answer

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # closed: the parent is gone
            threading.Thread(target=serve_connection, args=(connection,), name="ara-forked", daemon=True).start()

    threading.Thread(target=accept, name="ara-listen", daemon=True).start()
    return listener


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    try:
        serve(stdin, stdout)
    except BrokenPipeError:
        pass


if __name__ == "__main__":
    main()
