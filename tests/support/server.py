"""Run the real server (uvicorn) on 127.0.0.1 in a background thread for a test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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
