"""What ``POST /apps`` and ``PATCH /apps/{id}`` accept: the manifest the SDK builds, checked for the shapes the
server reads (``ara.apps.manifest``) and refused with a 400 naming the field. Everything else in it is kept as
sent, unread."""

from __future__ import annotations

import re
from typing import Any

from ara.apps import manifest, schedules
from ara.apps.agent.validation import validate_agent_tools, validate_model
from ara.errors import ValidationFailed
from ara.runtime.agent.providers import parse_model
from ara.settings import RuntimeSettings

# The SDK's ``PROJECT_NAME_RE`` (``_normalize_project_name``).
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
STATUSES = ("draft", "active", "paused")
#: Agent ids, tool names and schedule ids end up in records labels (``agent:<id>``), log rows and idempotency keys.
MAX_NAME = 128
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
AUTH_MODES = ("none", "header", "bearer", "hmac")
_JSON_NAMES = {str: "string", dict: "object", list: "list"}
_SHAPES: dict[str, type] = {
    "name": str,
    "slug": str,
    "description": str,
    "agent": dict,
    "workflows": list,
    "interfaces": dict,
    "runtime_profile": dict,
}


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


def _check_name(value: Any, field: str, what: str) -> None:
    """A non-empty id of at most ``MAX_NAME`` printable characters (no newline or other control character)."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, f"every {what} needs a non-empty string")
    if len(value) > MAX_NAME or not value.isprintable():
        raise _fail(field, f"at most {MAX_NAME} printable characters, no control characters")


def check_fields(body: dict[str, Any], *, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationFailed({field: ["unknown field"] for field in unknown})
    for field, shape in _SHAPES.items():
        if field in body and not isinstance(body[field], shape):
            raise _fail(field, f"must be a JSON {_JSON_NAMES[shape]}")


def check_status(value: Any) -> str:
    if value not in STATUSES:
        raise _fail("status", f"one of {', '.join(STATUSES)}")
    return str(value)


def check_manifest(doc: dict[str, Any], runtime: RuntimeSettings) -> None:
    """A whole manifest (``manifest.FIELDS``) before it is stored."""
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise _fail("name", "a non-empty string of at most 255 characters")
    if not isinstance(doc.get("slug"), str) or not SLUG.match(doc["slug"]):
        raise _fail("slug", "lowercase letters, digits and inner hyphens, 1-63 characters (like 'digest-bot')")
    _check_agents(doc.get("agent") or {})
    _check_endpoints(doc.get("interfaces") or {})
    profile = doc.get("runtime_profile") or {}
    if "model" in profile and profile["model"] not in (None, ""):
        try:
            parse_model(profile["model"], runtime)
        except ValidationFailed as exc:
            raise ValidationFailed({"runtime_profile.model": exc.detail["model"]}) from None
    env = profile.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise _fail("runtime_profile.env", "an object of KEY: value strings")
    refs = profile.get("secret_refs", [])
    if not isinstance(refs, list) or not all(isinstance(r, dict) and isinstance(r.get("name"), str) for r in refs):
        raise _fail("runtime_profile.secret_refs", "a list of {name} objects")
    # What a run needs of the agents: known skills and handoffs, usable models (the agent-execution part's checks).
    validate_agent_tools(doc)
    validate_model(doc, runtime)


def _check_agents(agent: dict[str, Any]) -> None:
    rows = agent.get("agents", [])
    if not isinstance(rows, list):
        raise _fail("agent.agents", "must be a list")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"agent.agents.{i}"
        if not isinstance(row, dict):
            raise _fail(f"{where}.id", "every agent needs a non-empty string id")
        _check_name(row.get("id"), f"{where}.id", "agent id")
        if row["id"] in seen:
            raise _fail(f"{where}.id", f"agent id {row['id']!r} is used twice")
        seen.add(row["id"])
        factory = row.get("prompt_factory")
        if factory is not None and not (isinstance(factory, dict) and isinstance(factory.get("source", ""), str)):
            raise _fail(f"{where}.prompt_factory", "an object with the function's source")
        for field in ("skills", "handoff_to"):
            value = row.get(field, [])
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise _fail(f"{where}.{field}", "a list of names")
        schedules = row.get("schedules", [])
        if not isinstance(schedules, list):
            raise _fail(f"{where}.schedules", "must be a list")
        for j, entry in enumerate(schedules):
            _check_schedule(entry, f"{where}.schedules.{j}")
    for i, tool in enumerate(agent.get("tools") or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict):
            raise _fail(f"agent.tools.{i}.function.name", "every tool needs a function name")
        _check_name(function.get("name"), f"agent.tools.{i}.function.name", "tool's function name")
    default = agent.get("default_agent_id")
    if default not in (None, "") and default not in seen:
        raise _fail("agent.default_agent_id", f"no agent {default!r}")
    if not manifest.agents({"agent": agent}) and rows:
        raise _fail("agent.agents", "no usable agent")


def _check_schedule(entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise _fail(f"{where}.id", "every schedule needs a string id")
    _check_name(entry.get("id"), f"{where}.id", "schedule id")
    schedules.entry_timing(entry, where)


def _check_endpoints(interfaces: dict[str, Any]) -> None:
    rows = interfaces.get("fastapi_endpoints", [])
    if not isinstance(rows, list):
        raise _fail("interfaces.fastapi_endpoints", "must be a list")
    labels: set[str] = set()
    for i, row in enumerate(rows):
        where = f"interfaces.fastapi_endpoints.{i}"
        label = row.get("label") if isinstance(row, dict) else None
        if not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}", label):
            raise _fail(f"{where}.label", "letters, digits, '-' and '_', at most 63 characters")
        if label in labels:
            raise _fail(f"{where}.label", f"label {label!r} is used twice")
        labels.add(label)
        if str(row.get("method", "POST")).upper() not in METHODS:
            raise _fail(f"{where}.method", f"one of {', '.join(METHODS)}")
        auth = row.get("auth", {})
        mode = auth.get("mode", "none") if isinstance(auth, dict) else None
        if mode not in AUTH_MODES:
            raise _fail(f"{where}.auth.mode", f"one of {', '.join(AUTH_MODES)}")
