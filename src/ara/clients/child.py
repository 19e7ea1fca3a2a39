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

A process forked from the parent (an Ansible worker running ``ara_record``) cannot share the pipes, so there
the transport serves requests in that process, as the plain offline client does; the parent holds no
database state that such a child could inherit.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import threading
from typing import IO, Any

import httpx

from ara.settings import Settings

_LENGTH = struct.Struct(">I")


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
        self._local: httpx.BaseTransport | None = None  # in a forked child of the parent

    def _child(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                raise httpx.ConnectError(f"the offline API process exited with {self._process.returncode}")
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ara.clients.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
            assert self._process.stdin is not None
            settings = {"settings": self.settings.model_dump(mode="json"), "migrate": self.run_sql_migrations}
            write_frame(self._process.stdin, settings)
        return self._process

    def _in_this_process(self) -> httpx.BaseTransport:
        if self._local is None:
            from ara.clients.inprocess import InProcessTransport
            from ara.server.app import create_app

            self._local = InProcessTransport(create_app(self.settings, run_migrations=False, workers=False))
        return self._local

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if os.getpid() != self._pid:
            return self._in_this_process().handle_request(request)
        body = request.read()
        header = {"method": request.method, "url": str(request.url), "headers": _decoded(request.headers.raw)}
        with self._lock:
            process = self._child()
            assert process.stdin is not None and process.stdout is not None
            try:
                write_frame(process.stdin, header, body)
                answer, content = read_frame(process.stdout)
            except (OSError, EOFError) as exc:
                raise httpx.ReadError(f"the offline API process stopped answering: {exc}") from exc
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]]
        return httpx.Response(answer["status"], headers=headers, content=content, request=request)

    def close(self) -> None:
        if os.getpid() != self._pid:
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
    try:
        while True:
            try:
                header, body = read_frame(stdin)
            except EOFError:
                return
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in header["headers"]]
            request = httpx.Request(header["method"], header["url"], headers=headers, content=body)
            response = transport.handle_request(request)
            answer = {"status": response.status_code, "headers": _decoded(response.headers.raw)}
            write_frame(stdout, answer, response.content)
    finally:
        app.state.ara.engine.dispose()


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
