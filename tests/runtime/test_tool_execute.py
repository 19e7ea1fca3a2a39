"""``execute`` turns a tool's refusal, and an operating-system error no tool foresaw, into an outcome the model
reads, never an exception that would end the turn (or answer 500 over HTTP)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from ara.errors import ToolFailed
from ara.runtime.tools.base import Tool, ToolContext, execute
from tests.support.sandboxes import bwrap_sandbox, make_workspace, tool_context


def _tool(raises: BaseException) -> Tool:
    def run(_ctx: ToolContext, _args: dict[str, Any]) -> Any:
        raise raises

    return Tool("probe", "raises", {"type": "object", "properties": {}}, run)


def test_refusals_and_os_errors_become_failed_outcomes(tmp_path: Path) -> None:
    ctx = tool_context(make_workspace(tmp_path), bwrap_sandbox())
    refused = execute(_tool(ToolFailed("no such thing")), ctx, {})
    assert (refused.ok, refused.error) == (False, "no such thing")
    full = execute(_tool(OSError(errno.ENOSPC, "No space left on device")), ctx, {"a": 1})
    assert not full.ok and full.error == "probe failed: No space left on device" and full.args == {"a": 1}
