"""Checks of a manifest's agents that ``POST /apps`` / ``PATCH /apps/{id}`` make at deploy (``apps.validation``
calls them), so a run never meets an unknown tool or an unusable model: each raises ``ValidationFailed`` naming
the manifest field as the control plane names them (``agent.agents.0.skills``)."""

from __future__ import annotations

from typing import Any

from ara.apps import manifest as manifests
from ara.apps.agent.tools import AGENT_BUILTINS, app_tool_rows, transfer_name, valid_tool_name
from ara.errors import ValidationFailed
from ara.runtime.agent.providers import parse_model
from ara.runtime.tools.automations import AUTOMATION_TOOLS
from ara.settings import RuntimeSettings


def validate_agent_tools(manifest: dict[str, Any]) -> None:
    """Every skill is a builtin or an ``@app.tool`` with its source; tool names are names a model accepts and no
    builtin's; every ``handoff_to`` names another agent of the app."""
    errors: dict[str, list[str]] = {}
    rows = app_tool_rows(manifest)
    for index, row in enumerate(manifests.tools(manifest)):
        name = str(row["function"].get("name") or "")
        if not valid_tool_name(name):
            errors.setdefault(f"agent.tools.{index}.function.name", []).append(
                f"{name!r} is not a tool name (letters, digits, '_' or '-', at most 64)"
            )
        elif name in AGENT_BUILTINS:
            errors.setdefault(f"agent.tools.{index}.function.name", []).append(f"{name!r} is a builtin tool's name")
    ids = {str(agent["id"]) for agent in manifests.agents(manifest)}
    for index, agent in enumerate(manifests.agents(manifest)):
        where = f"agent.agents.{index}"
        for skill in agent.get("skills") or []:
            if skill in rows:
                if not str(rows[skill].get("source") or "").strip():
                    errors.setdefault(f"{where}.skills", []).append(f"the tool {skill!r} has no source")
            elif skill in AUTOMATION_TOOLS:
                errors.setdefault(f"{where}.skills", []).append(
                    f"{skill!r} acts on the owner's own automations, beyond the app: not an app agent's tool"
                )
            elif skill not in AGENT_BUILTINS:
                known = ", ".join(sorted({*rows, *AGENT_BUILTINS}))
                errors.setdefault(f"{where}.skills", []).append(f"unknown tool {skill!r} (tools: {known})")
        targets = [str(target) for target in agent.get("handoff_to") or []]
        for target in targets:
            if target not in ids or target == agent["id"]:
                errors.setdefault(f"{where}.handoff_to", []).append(f"{target!r} is not another agent of the app")
        if len({transfer_name(target) for target in targets}) != len(set(targets)):
            errors.setdefault(f"{where}.handoff_to", []).append("two agents' transfer tools would share a name")
    if errors:
        raise ValidationFailed(errors)


def validate_model(manifest: dict[str, Any], settings: RuntimeSettings | None = None) -> None:
    """The app's ``runtime(model=…)`` and every agent's: ``provider/name`` of a known provider (or no prefix)."""
    errors: dict[str, list[str]] = {}
    candidates = [("runtime_profile.model", manifests.runtime_profile(manifest).get("model"))]
    for index, agent in enumerate(manifests.agents(manifest)):
        runtime = agent.get("runtime")
        if isinstance(runtime, dict):
            candidates.append((f"agent.agents.{index}.runtime.model", runtime.get("model")))
    for field, model in candidates:
        if model is None or model == "":
            continue
        try:
            parse_model(model, settings or RuntimeSettings())
        except ValidationFailed as exc:
            errors[field] = [str(item) for item in (exc.detail or {}).get("model", [exc.message])]
    if errors:
        raise ValidationFailed(errors)
