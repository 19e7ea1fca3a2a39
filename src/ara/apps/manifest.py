"""Reading a stored manifest (the JSON ``ara deploy`` sent, see ``ara_sdk``): its agents, tools, endpoints and
schedules. The manifest is kept exactly as sent; these functions are the one place that knows its shape."""

from __future__ import annotations

from typing import Any

from ara.errors import NotFound

#: The fields of a manifest, as ``POST /apps`` / ``PATCH /apps/{id}`` send them and ``GET /apps/{id}`` returns them.
FIELDS = ("name", "slug", "description", "agent", "workflows", "interfaces", "runtime_profile")


def agents(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    rows = (manifest.get("agent") or {}).get("agents") or []
    return [row for row in rows if isinstance(row, dict) and row.get("id")]


def default_agent_id(manifest: dict[str, Any]) -> str | None:
    """The agent a run without ``agent_id`` uses: the declared default, else the entrypoint, else the first."""
    agent = manifest.get("agent") or {}
    rows = agents(manifest)
    declared = str(agent.get("default_agent_id") or "").strip()
    if declared and any(row["id"] == declared for row in rows):
        return declared
    for row in rows:
        if row.get("entrypoint"):
            return str(row["id"])
    return str(rows[0]["id"]) if rows else None


def find_agent(manifest: dict[str, Any], agent_id: str | None) -> dict[str, Any]:
    """The agent row for ``agent_id`` (None or "": the default agent); NotFound names the unknown id."""
    wanted = (agent_id or "").strip() or default_agent_id(manifest)
    for row in agents(manifest):
        if row["id"] == wanted:
            return row
    raise NotFound(f"app has no agent {wanted!r}" if wanted else "app has no agents")


def tools(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """``@app.tool`` rows: ``{type, function: {name, description, parameters}, function_name, source}``."""
    rows = (manifest.get("agent") or {}).get("tools") or []
    return [row for row in rows if isinstance(row, dict) and isinstance(row.get("function"), dict)]


def endpoints(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """``interfaces.fastapi_endpoints[]``: ``{method, path, label, docs, auth: {mode, header_name, secret_env},
    agent_id, workflow_id}``."""
    rows = (manifest.get("interfaces") or {}).get("fastapi_endpoints") or []
    return [row for row in rows if isinstance(row, dict) and row.get("label")]


def schedules(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(agent_id, schedule)`` for every entry of ``agent.agents[].schedules`` (``{id, kind, cron, timezone,
    every_seconds, one_shot_at, run}``)."""
    found = []
    for row in agents(manifest):
        for entry in row.get("schedules") or []:
            if isinstance(entry, dict) and entry.get("id"):
                found.append((str(row["id"]), entry))
    return found


def located_schedules(manifest: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(field, agent_id, schedule)`` like ``schedules``, with where the entry sits (``agent.agents.0.schedules.1``)
    so that an error can name it."""
    found = []
    for i, row in enumerate((manifest.get("agent") or {}).get("agents") or []):
        if not isinstance(row, dict) or not row.get("id"):
            continue
        for j, entry in enumerate(row.get("schedules") or []):
            if isinstance(entry, dict) and entry.get("id"):
                found.append((f"agent.agents.{i}.schedules.{j}", str(row["id"]), entry))
    return found


def runtime_profile(manifest: dict[str, Any]) -> dict[str, Any]:
    profile = manifest.get("runtime_profile")
    return profile if isinstance(profile, dict) else {}


def secret_ref_names(manifest: dict[str, Any]) -> list[str]:
    return [str(ref["name"]) for ref in runtime_profile(manifest).get("secret_refs") or [] if ref.get("name")]
