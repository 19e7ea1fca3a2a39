"""The agent runtime over HTTP, as ``ara-sdk``'s ``AraRuntimeClient`` and ``ara start|status|stop|runtime ...`` call
it: a user's session (start is idempotent), what it offers (capabilities, skills, tools) and one tool run directly.

Only the owner reaches a session (anyone else's id is 404); a stopped one answers 503. A tool runs outside any
transaction (SQLite has one writer): the session is checked in a read, the tool runs, then its call is recorded
and the session marked used in one short write. Reads (GET) never mark a session used: only what changes or runs
something keeps it from its idle stop."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.errors import ToolFailed, Unauthenticated, Unavailable, ValidationFailed
from ara.runtime import recording
from ara.runtime.models import SESSION_RUNNING, RuntimeSession
from ara.runtime.schemas import (
    MAX_ID,
    SESSION_ID,
    Capabilities,
    EmptyBody,
    Heartbeat,
    SessionRead,
    SessionStopped,
    SkillsList,
    ToolExecute,
    ToolExecuted,
    ToolKind,
    ToolsList,
)
from ara.runtime.sessions import (
    active_session,
    describe,
    mark_used,
    owned_session,
    running_session,
    start_session,
    stop_session,
    workspace_of,
)
from ara.runtime.skills import list_skills
from ara.runtime.tools.base import Tool, ToolContext, ToolOutcome, execute
from ara.runtime.tools.builtin import BUILTINS, find_builtin
from ara.runtime.tools.context import context_for
from ara.server.auth import NO_CREDENTIALS
from ara.server.deps import OwnRoute, StateDep, transaction
from ara.server.openapi import request_body
from ara.server.routes.bodies import json_body, validated
from ara.server.state import AppState
from ara.users.service import Identity

router = APIRouter(tags=["runtime"], route_class=OwnRoute)
SessionId = Query(default="", max_length=MAX_ID, pattern=SESSION_ID)
AgentId = Query(default="", max_length=255)
_EMPTY = {"openapi_extra": request_body(EmptyBody, required=False)}


def user_of(identity: Identity | None) -> int:
    if identity is None:  # the middleware admits nobody anonymous here; this keeps a misconfiguration safe
        raise Unauthenticated(NO_CREDENTIALS)
    return identity.user_id


async def empty_body(request: Request) -> None:
    """``{}`` or nothing, as the SDK sends; anything else is named in a 400."""
    validated(EmptyBody, await json_body(request, default={}))


def readable_session(session: Session, identity: Identity | None, session_id: str) -> RuntimeSession:
    """The caller's running session, for a read (not marked used)."""
    found = owned_session(session, user_of(identity), session_id or None)
    if found.status != SESSION_RUNNING:
        raise Unavailable(f"runtime session {found.id} is stopped: start a session with `ara start`")
    return found


def open_tool_context(request: Request, state: AppState, session_id: str | None) -> tuple[RuntimeSession, ToolContext]:
    """The caller's running session and what its tools run with, from a read: the write that marks the session
    used comes after the work, with its record (``record``, ``mark_used``), so a call takes one write."""
    with transaction(request, state, write=False) as (session, identity):
        runtime_session = readable_session(session, identity, session_id or "")
        return runtime_session, context_for(state.settings, runtime_session, writer=state.writer)


def record(state: AppState, runtime_session: RuntimeSession, outcome: ToolOutcome, ctx: ToolContext) -> None:
    """The call in the records, and the session marked used, in one short write."""
    with unit_of_work(state.writer) as session:
        recording.record_tool_call(session, runtime_session, outcome, play_id=None, secrets=ctx.secrets.values())
        mark_used(session, runtime_session.id)


def touch(state: AppState, runtime_session: RuntimeSession) -> None:
    with unit_of_work(state.writer) as session:
        mark_used(session, runtime_session.id)


@router.post("/session/start", response_model=SessionRead, **_EMPTY)
async def start(request: Request, state: StateDep) -> dict[str, Any]:
    """The caller's running session, or a new one (its directory laid out): calling it twice starts one."""
    await empty_body(request)

    def work() -> dict[str, Any]:
        with transaction(request, state) as (session, identity):
            return describe(start_session(session, state.settings, user_of(identity)))

    return await run_in_threadpool(work)


@router.get("/session/status", response_model=SessionRead)
def status(request: Request, state: StateDep) -> dict[str, Any]:
    """The running session, else the latest stopped one (``active: false``), else ``status: none``."""
    with transaction(request, state) as (session, identity):
        user_id = user_of(identity)
        found = active_session(session, user_id) or session.scalar(
            select(RuntimeSession)
            .where(RuntimeSession.user_id == user_id)
            .order_by(RuntimeSession.created_at.desc(), RuntimeSession.id.desc())
            .limit(1)
        )
        return describe(found) if found is not None else {"ok": True, "status": "none", "active": False}


@router.post("/session/stop", response_model=SessionStopped, **_EMPTY)
async def stop(request: Request, state: StateDep) -> dict[str, Any]:
    """Stops the running session (its files stay) and closes its records playbook; nothing running is no error."""
    await empty_body(request)

    def work() -> dict[str, Any]:
        with transaction(request, state) as (session, identity):
            found = active_session(session, user_of(identity))
            if found is None:
                return {"ok": True, "session_id": None, "status": "none"}
            stop_session(found, "stopped by its user")
            recording.close_session(session, found)
            return {"ok": True, "session_id": found.id, "status": found.status}

    return await run_in_threadpool(work)


@router.post("/session/heartbeat", response_model=Heartbeat, **_EMPTY)
async def heartbeat(request: Request, state: StateDep) -> dict[str, Any]:
    """Marks the running session used (``ara runtime session keepalive``), so it is not stopped as idle."""
    await empty_body(request)

    def work() -> dict[str, Any]:
        with transaction(request, state) as (session, identity):
            return {"ok": True, "session_id": running_session(session, user_of(identity), None).id}

    return await run_in_threadpool(work)


def _tools(kind: str) -> list[Tool]:
    return [tool for tool in BUILTINS.values() if kind == "all" or tool.kind == kind]


def _tool_row(tool: Tool) -> dict[str, Any]:
    return {"name": tool.name, "kind": tool.kind, "description": tool.description, "parameters": tool.parameters}


@router.get("/session/runtime/tools", response_model=ToolsList)
def tools(
    request: Request,
    state: StateDep,
    session_id: str = SessionId,
    kind: str = Query(default="all", max_length=32),
    agent_id: str = AgentId,
) -> dict[str, Any]:
    """The tools a session's agent is offered (``agent_id``: apps' agents, none yet, see the same builtins)."""
    if kind not in get_args(ToolKind):
        raise ValidationFailed({"kind": [f"{kind!r} is not one of {', '.join(get_args(ToolKind))}"]})
    with transaction(request, state) as (session, identity):
        found = readable_session(session, identity, session_id)
    return {"ok": True, "session_id": found.id, "kind": kind, "tools": [_tool_row(t) for t in _tools(kind)]}


@router.get("/session/runtime/skills", response_model=SkillsList)
def skills(request: Request, state: StateDep, session_id: str = SessionId) -> dict[str, Any]:
    with transaction(request, state) as (session, identity):
        found = readable_session(session, identity, session_id)
    return {"ok": True, "session_id": found.id, "skills": list_skills(workspace_of(state.settings, found))}


@router.get("/session/runtime/capabilities", response_model=Capabilities)
def capabilities(
    request: Request, state: StateDep, session_id: str = SessionId, agent_id: str = AgentId
) -> dict[str, Any]:
    """What the session's sandbox is (and whether it isolates for real), its limits, tools and model."""
    with transaction(request, state) as (session, identity):
        found = readable_session(session, identity, session_id)
    ctx = context_for(state.settings, found)
    limits = ctx.limits
    runtime = state.settings.runtime
    offered = _tools("all")
    return {
        "ok": True,
        "session_id": found.id,
        "agent_id": agent_id or None,
        "sandbox": {"backend": ctx.sandbox.name, "strong": ctx.sandbox.strong},
        "network": ctx.network,
        "limits": {
            "timeout_seconds": limits.timeout_seconds,
            "cpu_seconds": limits.cpu_seconds,
            "memory_mb": limits.memory_mb,
            "output_bytes": limits.output_bytes,
        },
        "tools": [tool.name for tool in offered],
        "tool_kinds": {kind: sum(1 for t in offered if t.kind == kind) for kind in ("builtin", "app", "connector")},
        "skills": len(list_skills(ctx.workspace)),
        "default_model": runtime.default_model,
        "providers": sorted({"openai", *runtime.providers}),
        "max_turns": runtime.max_turns,
    }


@router.post("/session/runtime/tools/execute", response_model=ToolExecuted, openapi_extra=request_body(ToolExecute))
async def execute_tool(request: Request, state: StateDep) -> dict[str, Any]:
    """Runs one tool in the session, as the model would; its refusal is ``ok: false`` with the message."""
    given = validated(ToolExecute, await json_body(request, default={}))

    def work() -> dict[str, Any]:
        runtime_session, ctx = open_tool_context(request, state, given.session_id)
        try:
            tool = find_builtin(given.tool_name)
        except ToolFailed as exc:
            raise ValidationFailed({"tool_name": [exc.message]}) from None
        outcome = execute(tool, ctx, given.args)
        record(state, runtime_session, outcome, ctx)
        return {
            "ok": outcome.ok,
            "session_id": runtime_session.id,
            "tool_name": tool.name,
            "output": outcome.output,
            "error": outcome.error,
            "duration_ms": round(outcome.duration_seconds * 1000, 3),
        }

    return await run_in_threadpool(work)
