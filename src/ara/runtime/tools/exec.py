"""``exec``: a command line from the model or the CLI, split with ``shlex`` into argv and run in the session's
sandbox. No shell is involved on the server; a model that wants one runs ``sh -c "..."`` inside its sandbox."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from ara.errors import ToolFailed
from ara.runtime.tools.args import builtin
from ara.runtime.tools.base import ToolContext


def split_command(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ToolFailed(f"exec: cannot split the command: {exc}") from None
    if not argv:
        raise ToolFailed("exec: the command is empty")
    return argv


def run_exec(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    argv = split_command(args["command"])
    limits = ctx.limits
    if "timeout" in args:  # a caller may ask for less time than the server allows, never more
        limits = dataclasses.replace(limits, timeout_seconds=min(float(args["timeout"]), limits.timeout_seconds))
    done = ctx.sandbox.run(argv, workspace=ctx.workspace, limits=limits, network=ctx.network)
    return {
        "exit_code": done.exit_code,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "timed_out": done.timed_out,
        "truncated": done.truncated,
    }


EXEC = builtin(
    "exec",
    "Run a command in the session's sandbox (cwd /root/.ara/workspace). The command line is split like a shell "
    "would split words, but no shell runs it: use sh -c '...' for pipes and redirections.",
    {
        "properties": {
            "command": {"type": "string", "description": "The command line, e.g. python3 hello.py"},
            "timeout": {"type": "number", "minimum": 0.1, "description": "Seconds before it is killed."},
        },
        "required": ["command"],
    },
    run_exec,
)
