"""Sandboxes, session workspaces and tool contexts for the runtime tests: the real bwrap and the real confined
subprocess on a real directory under tmp_path, plus a tiny HTTP server standing for the outside web."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ara.runtime.sandbox.base import Limits, Sandbox
from ara.runtime.sandbox.bwrap import BwrapSandbox
from ara.runtime.sandbox.confined import ConfinedSandbox
from ara.runtime.sandbox.select import bwrap_problem
from ara.runtime.tools.base import ToolContext, ToolOutcome, execute
from ara.runtime.tools.builtin import find_builtin
from ara.runtime.workspace import Workspace
from ara.settings import RuntimeSettings

BACKENDS = ("bwrap", "subprocess")


def bwrap_sandbox() -> BwrapSandbox:
    """The real bwrap; its absence skips (``scripts/system-packages.sh`` installs it for CI)."""
    executable = shutil.which("bwrap")
    problem = bwrap_problem(executable)
    if problem or executable is None:
        pytest.skip(f"bubblewrap unusable here: {problem}")
    return BwrapSandbox(executable)


def sandbox_named(name: str) -> Sandbox:
    return bwrap_sandbox() if name == "bwrap" else ConfinedSandbox()


def make_workspace(tmp_path: Path, session_id: str = "sess-a") -> Workspace:
    workspace = Workspace(tmp_path / "sessions" / session_id)
    workspace.create()
    return workspace


def limits(**overrides: Any) -> Limits:
    values: dict[str, Any] = {"timeout_seconds": 20.0, "cpu_seconds": 20, "memory_mb": 1024, "output_bytes": 65536}
    values.update(overrides)
    return Limits(**values)


def tool_context(workspace: Workspace, sandbox: Sandbox, *, network: bool = False, **settings: Any) -> ToolContext:
    return ToolContext("sess-a", 1, workspace, sandbox, RuntimeSettings(**settings), network=network)


def call(ctx: ToolContext, name: str, **args: Any) -> ToolOutcome:
    return execute(find_builtin(name), ctx, args)


def ok(ctx: ToolContext, name: str, **args: Any) -> Any:
    """The output of a tool call that must succeed."""
    outcome = call(ctx, name, **args)
    assert outcome.ok, outcome.error
    return outcome.output


def refused(ctx: ToolContext, name: str, **args: Any) -> str:
    """The error of a tool call that must be refused."""
    outcome = call(ctx, name, **args)
    assert not outcome.ok, f"{name} {args} was not refused: {outcome.output}"
    return outcome.error


Handler = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


@contextmanager
def web_server(handle: Handler) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 answering every GET with ``handle(request)``; yields its base URL."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            status, headers, body = handle(self)
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
