"""Checks of a manifest's agents that ``POST /apps`` / ``PATCH /apps/{id}`` make at deploy, so a run never meets
an unknown tool, a missing prompt function or an unusable model: each raises ``ValidationFailed`` naming the
manifest field."""

from __future__ import annotations

from typing import Any

from ara.apps import manifest as manifests
from ara.apps.agent.tools import AGENT_BUILTINS, app_tool_rows, transfer_name, valid_tool_name
from ara.errors import ValidationFailed
from ara.runtime.agent.providers import parse_model
from ara.settings import RuntimeSettings


def validate_agent_tools(manifest: dict[str, Any]) -> None:
    """Every agent has a prompt function; every skill is a builtin or an ``@app.tool`` with a source; every
    ``handoff_to`` names another agent of the app."""
    errors: dict[str, list[str]] = {}
    rows = app_tool_rows(manifest)
    for index, row in enumerate(manifests.tools(manifest)):
        name = str(row["function"].get("name") or "")
        field = f"agent.tools[{index}]"
        if not valid_tool_name(name):
            errors.setdefault(f"{field}.function.name", []).append(f"{name!r} is not a tool name ([A-Za-z0-9_-], 1-64)")
        if name in AGENT_BUILTINS:
            errors.setdefault(f"{field}.function.name", []).append(f"{name!r} is a builtin tool's name")
        if not str(row.get("source") or "").strip() or not str(row.get("function_name") or "").strip():
            errors.setdefault(field, []).append("a tool needs its function_name and source")
    ids = {str(agent["id"]) for agent in manifests.agents(manifest)}
    for index, agent in enumerate(manifests.agents(manifest)):
        field = f"agent.agents[{index}]"
        factory = agent.get("prompt_factory")
        if not isinstance(factory, dict) or not str(factory.get("source") or "").strip():
            errors.setdefault(f"{field}.prompt_factory", []).append("an agent needs its prompt function's source")
        elif not str(factory.get("function_name") or "").strip():
            errors.setdefault(f"{field}.prompt_factory.function_name", []).append("missing")
        skills = agent.get("skills") or []
        if not isinstance(skills, list):
            errors.setdefault(f"{field}.skills", []).append("must be a list of tool names")
            skills = []
        for skill in skills:
            if skill not in rows and skill not in AGENT_BUILTINS:
                known = ", ".join(sorted({*rows, *AGENT_BUILTINS}))
                errors.setdefault(f"{field}.skills", []).append(f"unknown tool {skill!r} (tools: {known})")
        targets = agent.get("handoff_to") or []
        for target in targets if isinstance(targets, list) else [targets]:
            if target not in ids or target == agent["id"]:
                errors.setdefault(f"{field}.handoff_to", []).append(f"{target!r} is not another agent of the app")
        names = [transfer_name(str(target)) for target in targets if isinstance(targets, list)]
        if len(set(names)) != len(names):
            errors.setdefault(f"{field}.handoff_to", []).append("two agents' transfer tools would share a name")
    if errors:
        raise ValidationFailed(errors)


def validate_model(manifest: dict[str, Any], settings: RuntimeSettings | None = None) -> None:
    """The app's ``runtime(model=…)`` and every agent's: ``provider/name`` of a known provider (or no prefix)."""
    errors: dict[str, list[str]] = {}
    candidates = [("runtime_profile.model", manifests.runtime_profile(manifest).get("model"))]
    for index, agent in enumerate(manifests.agents(manifest)):
        runtime = agent.get("runtime")
        if isinstance(runtime, dict):
            candidates.append((f"agent.agents[{index}].runtime.model", runtime.get("model")))
    for field, model in candidates:
        if model is None or model == "":
            continue
        try:
            parse_model(model, settings or RuntimeSettings())
        except ValidationFailed as exc:
            errors[field] = [str(item) for item in (exc.detail or {}).get("model", [exc.message])]
    if errors:
        raise ValidationFailed(errors)
