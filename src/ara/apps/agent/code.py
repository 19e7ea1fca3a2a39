"""Calling an author's function (a prompt factory or an ``@app.tool``) in the sandbox: our fixed runner is the
program, the author's source and the arguments are data on its stdin, and the answer is its last stdout line."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ara.errors import ToolFailed
from ara.redaction import scrub
from ara.runtime.sandbox.base import Limits, Sandbox
from ara.runtime.sandbox.bwrap import PATH
from ara.runtime.workspace import Workspace

MASK = "********"
STDERR_TAIL = 2000


@functools.cache
def runner_source() -> str:
    return Path(__file__).with_name("sandbox_runner.py").read_text(encoding="utf-8")


@functools.cache
def sandbox_python() -> str:
    """The system's ``python3`` (what the sandbox mounts read-only), not the server's virtual environment."""
    return shutil.which("python3", path=PATH) or "python3"


@dataclass(frozen=True)
class CodeRunner:
    """Where and how an app's code runs: one workspace, the app's environment (its secret values included),
    the limits of one call. ``secrets`` are masked out of every error text this produces."""

    sandbox: Sandbox
    workspace: Workspace
    limits: Limits
    env: Mapping[str, str]
    secrets: tuple[str, ...] = ()
    network: bool = False

    def call(
        self, source: str, function_name: str, *, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> Any:
        """The function's return value (JSON-decoded); ``ToolFailed`` with the author's error text (no traceback)
        when it raised, timed out or answered nothing readable."""
        request = {"source": source, "function_name": function_name, "args": list(args), "kwargs": dict(kwargs or {})}
        done = self.sandbox.run(
            [sandbox_python(), "-I", "-c", runner_source()],
            workspace=self.workspace,
            limits=self.limits,
            env=dict(self.env),
            stdin=json.dumps(request, default=str).encode("utf-8"),
            network=self.network,
        )
        if done.timed_out:
            raise ToolFailed(f"{function_name} timed out after {self.limits.timeout_seconds:g} s")
        answer = _last_json_line(done.stdout)
        if answer is None:
            why = "its answer was cut at the output limit" if done.truncated else f"exit code {done.exit_code}"
            tail = done.stderr.strip()[-STDERR_TAIL:]
            raise ToolFailed(self.clean(f"{function_name} failed ({why})" + (f": {tail}" if tail else "")))
        if not answer.get("ok"):
            raise ToolFailed(self.clean(f"{function_name} raised {answer.get('error') or 'an error'}"))
        return answer.get("value")

    def clean(self, text: str) -> str:
        """``text`` with the secret values masked."""
        return scrub(text, list(self.secrets), MASK)


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.strip():
            try:
                found = json.loads(line)
            except json.JSONDecodeError:
                return None
            return found if isinstance(found, dict) and "ok" in found else None
    return None
