"""The manifest of an ``App``: what ``ara deploy`` sends and the server stores verbatim. Built from the
declared agent rows and tools, with the rows the platform derives from them (``profiles``, ``subagents``,
one ``workflow`` per agent and one per cron schedule as ``<agent>--<schedule id>``, endpoint rows under
``interfaces.fastapi_endpoints``), in 0.1.46's key order, so ``json.dumps`` of ours equals 0.1.46's.
Tool schedules are hung on the default agent (a ``scheduled-jobs`` agent when there is none)."""

from __future__ import annotations

from typing import Any

from ara_sdk.builders import DEFAULT_MAX_CONCURRENCY
from ara_sdk.schedules import merge, normalize_spec
from ara_sdk.secrets import SECRET_DEFINITIONS_KEY
from ara_sdk.validation import unique_strings

FALLBACK_AGENT_ID = "scheduled-jobs"
FALLBACK_AGENT_TEXT = "Execute scheduled tool jobs."
DEFAULT_SANDBOX = {"policy": "shared", "max_concurrency": DEFAULT_MAX_CONCURRENCY}


def build(
    *,
    name: str,
    slug: str,
    agent: dict[str, Any],
    agents: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    default_agent_id: str,
    interfaces: dict[str, Any],
    runtime_profile: dict[str, Any],
) -> dict[str, Any]:
    agent_block = dict(agent)
    rows = _with_tool_schedules([dict(row) for row in agents], tools, default_agent_id)
    workflows: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    if rows:
        agent_block["agents"] = rows
        default_id = str(default_agent_id or rows[0].get("id") or "").strip()
        if default_id:
            agent_block["default_agent_id"] = default_id
        profiles: list[dict[str, Any]] = []
        subagents: list[dict[str, Any]] = []
        for row in rows:
            agent_id = str(row.get("id") or "").strip()
            if not agent_id:
                continue
            if isinstance(row.get("fastapi_endpoint"), dict):
                endpoint = dict(row["fastapi_endpoint"])
                endpoint.setdefault("agent_id", agent_id)
                endpoint.setdefault("workflow_id", agent_id)
                endpoints.append(endpoint)
            profiles.append(_profile(row, agent_id))
            subagents.append(_subagent(row, agent_id))
            workflows.append(_agent_workflow(row, workflow_id=agent_id))
            workflows.extend(_schedule_workflows(row, agent_id))
        if profiles:
            agent_block["profiles"] = profiles
            if default_id:
                agent_block["default_profile_id"] = default_id
        if subagents:
            agent_block["subagents"] = subagents
    if tools:
        agent_block["tools"] = list(tools)
    interfaces_block = dict(interfaces)
    if endpoints:
        declared = interfaces_block.get("fastapi_endpoints")
        earlier = [dict(item) for item in declared if isinstance(item, dict)] if isinstance(declared, list) else []
        interfaces_block["fastapi_endpoints"] = earlier + endpoints
    return {
        "name": name,
        "slug": slug,
        "description": "",
        "agent": agent_block,
        "workflows": workflows,
        "interfaces": interfaces_block,
        "runtime_profile": dict(runtime_profile),
    }


def _with_tool_schedules(
    rows: list[dict[str, Any]], tools: list[dict[str, Any]], default_agent_id: str
) -> list[dict[str, Any]]:
    specs = [normalize_spec(s) for tool in tools for s in _list(tool.get("schedules")) if isinstance(s, dict)]
    if not specs:
        return rows
    if not rows:
        rows.append(
            {
                "id": FALLBACK_AGENT_ID,
                "task": FALLBACK_AGENT_TEXT,
                "instructions": FALLBACK_AGENT_TEXT,
                "persona": FALLBACK_AGENT_TEXT,
                "schedules": [],
                "handoff_to": [],
                "always_on": False,
                "entrypoint": False,
            }
        )
    anchor_id = str(default_agent_id or rows[0].get("id") or "").strip()
    index = next((i for i, row in enumerate(rows) if str(row.get("id") or "").strip() == anchor_id), 0)
    rows[index] = {**rows[index], "schedules": merge(_list(rows[index].get("schedules")), specs)}
    return rows


def _profile(row: dict[str, Any], agent_id: str) -> dict[str, Any]:
    instructions = _instructions(row)
    profile: dict[str, Any] = {
        "id": agent_id,
        "instructions": instructions,
        "persona": instructions,
        "handoff_to": unique_strings(_list(row.get("handoff_to"))),
        "always_on": bool(row.get("always_on", True)),
    }
    if isinstance(row.get("skills"), list):
        profile["skills"] = unique_strings(row["skills"])
    return profile


def _subagent(row: dict[str, Any], agent_id: str) -> dict[str, Any]:
    runtime_cfg = {k: v for k, v in (row.get("runtime") or {}).items() if k != SECRET_DEFINITIONS_KEY}
    return {
        "id": agent_id,
        "workflow_id": agent_id,
        "channels": [],
        "runtime": runtime_cfg,
        "sandbox": dict(row.get("sandbox") or DEFAULT_SANDBOX),
        "hooks": [],
    }


def _schedule_workflows(row: dict[str, Any], agent_id: str) -> list[dict[str, Any]]:
    """One workflow per cron schedule (``every`` schedules live only on the agent row)."""
    out: list[dict[str, Any]] = []
    instructions = _instructions(row)
    for raw in _list(row.get("schedules")):
        spec = normalize_spec(raw)
        if spec.get("kind") != "cron":
            continue
        run = spec.get("run") if isinstance(spec.get("run"), dict) else {}
        workflow_id = f"{agent_id}--{spec['id']}"
        cron = str(spec.get("cron") or "").strip()
        trigger = {
            "type": "cron",
            "cron": cron,
            "schedule": cron,
            "timezone": str(spec.get("timezone") or "UTC").strip() or "UTC",
        }
        if spec.get("one_shot_at"):
            trigger["one_shot_at"] = str(spec["one_shot_at"])
        if str(run.get("type") or "").strip().lower() == "tool":
            tool_name = str(run.get("tool_name") or "").strip()
            if tool_name:
                args = run.get("args") if isinstance(run.get("args"), dict) else {}
                out.append(_tool_workflow(workflow_id, agent_id, tool_name, args, trigger))
            continue
        run_agent_id = str(run.get("agent_id") or agent_id).strip()
        task = str(row.get("task") or instructions or f"Run agent {run_agent_id}").strip()
        message = _message(run.get("input"))
        target = {"id": run_agent_id, "task": task, "instructions": str(message or task).strip()}
        out.append(_agent_workflow(target, trigger=trigger, workflow_id=workflow_id, task=task))
    return out


def _agent_workflow(
    row: dict[str, Any], *, workflow_id: str, trigger: dict[str, Any] | None = None, task: str | None = None
) -> dict[str, Any]:
    agent_id = str(row.get("id") or "").strip()
    trigger_cfg = dict(trigger or {"type": "api"})
    expr = str(trigger_cfg.get("cron") or trigger_cfg.get("schedule") or "").strip()
    if expr and str(trigger_cfg.get("type") or "").strip().lower() == "cron":
        trigger_cfg.setdefault("schedule", expr)
        trigger_cfg.setdefault("cron", expr)
        trigger_cfg.setdefault("timezone", "UTC")
    return {
        "id": str(workflow_id or agent_id),
        "mode": "task",
        "agent_id": agent_id,
        "task": str(task or _instructions(row) or f"Run agent {agent_id}").strip(),
        "run": {},
        "pipeline": [],
        "schedule": expr,
        "trigger": trigger_cfg,
    }


def _tool_workflow(
    workflow_id: str, agent_id: str, tool_name: str, args: dict[str, Any], trigger: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": workflow_id,
        "mode": "pipeline",
        "agent_id": agent_id,
        "task": f"Run scheduled tool {tool_name}",
        "run": {},
        "pipeline": [{"id": f"{workflow_id}--tool", "kind": "tool", "tool_name": tool_name, "args": dict(args)}],
        "schedule": str(trigger.get("cron") or trigger.get("schedule") or "").strip(),
        "trigger": dict(trigger),
    }


def _instructions(row: dict[str, Any]) -> str:
    return str(row.get("instructions") or row.get("task") or "").strip()


def _message(run_input: Any) -> str:
    if isinstance(run_input, dict):
        return str(run_input.get("message") or "").strip()
    if isinstance(run_input, str):
        return run_input.strip()
    return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
