"""The tools an app's agent is offered: its ``skills`` (builtins by name, ``@app.tool``s with their manifest
schema, each call running the tool's source in the sandbox) and a ``transfer_to_<agent>`` tool per ``handoff_to``.
Every tool's output and error are masked of the app's secret values before the model (or a record) sees them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ara.apps import manifest as manifests
from ara.apps.agent.code import MASK, CodeRunner
from ara.errors import ToolFailed
from ara.redaction import scrub, scrub_tree
from ara.runtime.tools.automations import AUTOMATION_TOOLS
from ara.runtime.tools.base import Tool, ToolContext
from ara.runtime.tools.builtin import BUILTINS
from ara.runtime.tools.records import RECORDS

#: The builtin tools an app's agent may list in its ``skills``: the runtime's, and the read-only ``records``, but
#: not the automation tools: they act on the owner's own automations, beyond the app (an editor could deploy an
#: agent that lists or deletes them).
AGENT_BUILTINS: dict[str, Tool] = {
    **{name: tool for name, tool in BUILTINS.items() if name not in AUTOMATION_TOOLS},
    RECORDS.name: RECORDS,
}

TRANSFER_PREFIX = "transfer_to_"
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def transfer_name(agent_id: str) -> str:
    """A tool name the model accepts (``[A-Za-z0-9_-]``, at most 64 characters) for a handoff to ``agent_id``."""
    return (TRANSFER_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "_", agent_id))[:64]


def app_tool_rows(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(row["function"].get("name") or ""): row for row in manifests.tools(manifest)}


def skill_tools(manifest: dict[str, Any], agent: dict[str, Any], runner: Callable[[], CodeRunner]) -> dict[str, Tool]:
    """The agent's allow-list; ``runner()`` is the code runner of the agent's workspace at call time. Unknown
    names were refused at deploy (``validate_agent_tools``); one met here anyway is left out."""
    rows = app_tool_rows(manifest)
    found: dict[str, Tool] = {}
    for name in agent.get("skills") or []:
        if name in rows:
            found[name] = _app_tool(rows[name], runner)
        elif name in AGENT_BUILTINS:
            found[name] = AGENT_BUILTINS[name]
    return found


def _app_tool(row: dict[str, Any], runner: Callable[[], CodeRunner]) -> Tool:
    function = row["function"]
    source, function_name = str(row.get("source") or ""), str(row.get("function_name") or function["name"])

    def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
        return runner().call(source, function_name, kwargs=args)

    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    return Tool(str(function["name"]), str(function.get("description") or ""), parameters, run, kind="app")


def transfer_tool(target: str, description: str, switch: Callable[[str], str]) -> Tool:
    """``switch(target)`` moves the rest of the run to ``target`` and returns what the model is told."""

    def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
        return {"transferred_to": target, "note": switch(target)}

    text = f"Hand the conversation over to the agent {target!r}. {description}".strip()
    return Tool(transfer_name(target), text, {"type": "object", "properties": {}}, run, kind="app")


def masked(tool: Tool, secrets: tuple[str, ...]) -> Tool:
    """``tool`` whose output and error text never carry a secret value."""
    values = [value for value in secrets if value]
    if not values:
        return tool

    def run(ctx: ToolContext, args: dict[str, Any]) -> Any:
        try:
            return scrub_tree(tool.run(ctx, args), values, MASK)
        except ToolFailed as exc:
            raise ToolFailed(scrub(exc.message, values, MASK)) from None

    return Tool(tool.name, tool.description, tool.parameters, run, kind=tool.kind)


def valid_tool_name(name: str) -> bool:
    return bool(_TOOL_NAME.match(name))
