"""Run the real server (uvicorn) on 127.0.0.1 in a background thread for a test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ara.server.app import create_app
from ara.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    settings: Settings, *, wrap: Callable[[Any], Any] | None = None, port: int | None = None
) -> Iterator[str]:
    """Yields the base URL (``http://127.0.0.1:PORT``) of a server that stops when the block ends; ``wrap`` puts
    an ASGI middleware in front of the app (a test that watches what the server answers); ``port``: a given one
    (a server restarted where a client expects it)."""
    port = port or free_port()
    app = create_app(settings)
    served = wrap(app) if wrap is not None else app
    config = uvicorn.Config(served, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.ara.engine.dispose()


class ServerProcess:
    """A real ``ara server`` process on a fixed port, which a test can SIGKILL and start again on that port."""

    def __init__(self, settings: Settings, *, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("ARA_")}
        self.env.update(
            ARA_BASE_DIR=str(settings.base_dir),
            ARA_DATABASE__URL=settings.database_url,
            ARA_ENGINE__WORKERS="0",  # housekeeping only unless ``env`` says otherwise: no runs in these tests
        )
        self.env.update(env or {})
        self.log = settings.base_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> ServerProcess:
        command = [sys.executable, "-c", "from ara.cli.main import main; main()", "server", "--port", str(self.port)]
        settings_dir = Path(self.env["ARA_BASE_DIR"])
        settings_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/api", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ara server did not start: {self.log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, connections die as they are."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
