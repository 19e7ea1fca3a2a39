"""``App``: the declaration an app file builds with decorators, and its manifest.

    app = App("digest-bot", runtime_profile=runtime(model="openai/gpt-4o-mini", secrets=[Secret.from_name("x")]))

    @app.tool()
    def add(a: int, b: int) -> int: ...          # source shipped; runs in the server's sandbox

    @app.agent(entrypoint=True, skills=["add"])
    def digest(input: dict) -> str: ...          # returns the prompt; runs in the sandbox too

``app.manifest`` is the JSON 0.1.46 produces for the same file (its runtime profile may hold the client-only
``__secret_definitions``); ``app.deploy_plan()`` is what ``ara deploy`` sends: the request body without the
client-only keys, and the secret definitions to upload (``ara_sdk.deploy``). Decorators may be stacked in any
order: ``@fastapi_endpoint`` and ``@app.schedule`` leave their rows on the function, ``@app.agent`` and
``@app.tool`` pick them up, and either applied later updates the already-registered row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ara_sdk import manifest as manifest_builder
from ara_sdk.deploy import DeployPlan, deploy_plan
from ara_sdk.endpoints import AGENT_ATTR, ENDPOINT_ATTR
from ara_sdk.schedules import bind_entries, decorator_entries, merge, normalize_spec
from ara_sdk.schemas import check_prompt_signature, parameters_schema
from ara_sdk.secrets import SECRET_DEFINITIONS_KEY
from ara_sdk.sources import function_source
from ara_sdk.validation import DeclarationError, unique_strings
from ara_sdk.validation import project_name as valid_project_name

F = TypeVar("F", bound=Callable[..., Any])
TOOL_ATTR = "__ara_tool__"
SCHEDULES_ATTR = "__ara_schedule_entries__"
logger = logging.getLogger(__name__)


class App:
    """One app: its agents (prompt functions), tools and schedules, under a DNS-safe ``project_name``."""

    def __init__(
        self,
        project_name: str,
        *,
        interfaces: dict[str, Any] | None = None,
        runtime_profile: dict[str, Any] | None = None,
        agent: dict[str, Any] | None = None,
    ) -> None:
        self.project_name = valid_project_name(project_name)
        self.name = self.project_name
        self.slug = self.project_name
        self._agent = dict(agent or {})
        self._interfaces = dict(interfaces or {})
        self._runtime_profile = dict(runtime_profile or {})
        self._agents: list[dict[str, Any]] = []
        self._tools: list[dict[str, Any]] = []
        self._default_agent_id = ""

    def agent(
        self,
        id: str | None = None,
        *,
        entrypoint: bool = False,
        skills: list[str] | None = None,
        schedules: list[dict[str, Any]] | None = None,
        handoff_to: list[str] | None = None,
        runtime: dict[str, Any] | None = None,
        sandbox: dict[str, Any] | None = None,
        always_on: bool = True,
    ) -> Callable[[F], F]:
        """An agent whose prompt is what the decorated ``fn(input) -> str`` returns. The first agent, or the one
        with ``entrypoint=True``, answers runs that name no agent."""

        def decorator(fn: F) -> F:
            agent_id = str(id or fn.__name__).strip()
            if not agent_id:
                raise DeclarationError("@app.agent requires a non-empty id")
            check_prompt_signature(fn)
            prompt_factory = {
                "function_name": fn.__name__,
                "source": function_source(fn, context="@app.agent"),
                "parameters": parameters_schema(fn),
            }
            text = (
                str(fn.__doc__ or "").strip() or f"Generate instructions at runtime via agent function '{fn.__name__}'."
            )
            declared = [normalize_spec(item) for item in schedules or []]
            pending = _pending_schedules(fn)
            if pending:
                declared = merge(declared, bind_entries(pending, target_kind="agent", target_id=agent_id))
            row: dict[str, Any] = {
                "id": agent_id,
                "task": text,
                "instructions": text,
                "persona": text,
                "schedules": declared,
                "handoff_to": unique_strings(handoff_to),
                "always_on": bool(always_on),
                "entrypoint": bool(entrypoint),
                "prompt_factory": prompt_factory,
            }
            if skills is not None:
                row["skills"] = unique_strings(skills)
            if isinstance(runtime, dict) and runtime:
                row["runtime"] = {k: v for k, v in runtime.items() if k != SECRET_DEFINITIONS_KEY}
            if isinstance(sandbox, dict) and sandbox:
                row["sandbox"] = dict(sandbox)
            endpoint = getattr(fn, ENDPOINT_ATTR, None)
            if isinstance(endpoint, dict):
                row["fastapi_endpoint"] = dict(endpoint)
            _upsert(self._agents, row, _agent_key)
            if entrypoint or not self._default_agent_id:
                self._default_agent_id = agent_id
            setattr(fn, AGENT_ATTR, row)
            return fn

        return decorator

    def tool(self, *, id: str | None = None, parameters: dict[str, Any] | None = None) -> Callable[[F], F]:
        """A function the agents may call (by name in their ``skills``); its source runs in the sandbox and its
        schema is ``parameters`` or derived from the signature."""

        def decorator(fn: F) -> F:
            tool_id = str(id or fn.__name__).strip()
            if not tool_id:
                raise DeclarationError("@app.tool requires a non-empty id")
            source = function_source(fn, context="@app.tool")
            item: dict[str, Any] = {
                "type": "function",
                "function": {
                    "name": tool_id,
                    "description": str(fn.__doc__ or "").strip(),
                    "parameters": dict(parameters) if isinstance(parameters, dict) else parameters_schema(fn),
                },
                "function_name": fn.__name__,
                "source": source,
            }
            pending = _pending_schedules(fn)
            if pending:
                item["schedules"] = bind_entries(pending, target_kind="tool", target_id=tool_id)
            _upsert(self._tools, item, _tool_key)
            setattr(fn, TOOL_ATTR, item)
            return fn

        return decorator

    def schedule(
        self,
        *,
        id: str = "",
        cron: str = "",
        at: list[Any] | Any | None = None,
        timezone: str = "UTC",
        run: dict[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Run the decorated agent or tool on ``cron`` and/or at each ``at`` token (``"09:30"``, a 5-field cron,
        or an ISO timestamp for a one-shot); above or below ``@app.agent``/``@app.tool``."""
        zone = str(timezone or "UTC").strip() or "UTC"

        def decorator(fn: F) -> F:
            tokens = None if at is None else list(at) if isinstance(at, list) else [at]
            entries = decorator_entries(
                id=str(id or fn.__name__).strip(), cron=str(cron or "").strip(), at=tokens, timezone=zone, run=run
            )
            setattr(fn, SCHEDULES_ATTR, merge(_pending_schedules(fn), entries))
            agent_row = getattr(fn, AGENT_ATTR, None)
            if isinstance(agent_row, dict):
                target = str(agent_row.get("id") or fn.__name__).strip()
                bound = bind_entries(entries, target_kind="agent", target_id=target)
                agent_row["schedules"] = merge(agent_row.get("schedules"), bound)
                _upsert(self._agents, agent_row, _agent_key)
            tool_item = getattr(fn, TOOL_ATTR, None)
            if isinstance(tool_item, dict):
                target = str(_tool_key(tool_item) or fn.__name__).strip()
                bound = bind_entries(entries, target_kind="tool", target_id=target)
                tool_item["schedules"] = merge(tool_item.get("schedules"), bound)
                _upsert(self._tools, tool_item, _tool_key)
            if agent_row is None and tool_item is None:
                logger.warning(
                    "@app.schedule applied to %r which has no @app.agent or @app.tool decorator (yet): its entries "
                    "reach the manifest only through an @app.agent or @app.tool above it.",
                    fn.__name__,
                )
            return fn

        return decorator

    @property
    def manifest(self) -> dict[str, Any]:
        return manifest_builder.build(
            name=self.name,
            slug=self.slug,
            agent=self._agent,
            agents=self._agents,
            tools=self._tools,
            default_agent_id=self._default_agent_id,
            interfaces=self._interfaces,
            runtime_profile=self._runtime_profile,
        )

    def deploy_plan(self) -> DeployPlan:
        """What ``ara deploy`` sends for this app (body without client-only keys, secrets to upload)."""
        return deploy_plan(self.manifest)


def _pending_schedules(fn: Callable[..., Any]) -> list[dict[str, Any]]:
    raw = getattr(fn, SCHEDULES_ATTR, None)
    return [dict(item) for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []


def _agent_key(row: dict[str, Any]) -> str:
    return str(row.get("id") or "").strip()


def _tool_key(item: dict[str, Any]) -> str:
    block = item.get("function") if isinstance(item.get("function"), dict) else {}
    return str(block.get("name") or "").strip()


def _upsert(rows: list[dict[str, Any]], row: dict[str, Any], key: Callable[[dict[str, Any]], str]) -> None:
    """Replace the row with the same key in place (a redeclared agent keeps its position), else append."""
    wanted = key(row)
    if not wanted:
        return
    for index, existing in enumerate(rows):
        if key(existing) == wanted:
            rows[index] = row
            return
    rows.append(row)
