"""``automation_create|list|update|delete``: the model schedules chat turns for its user. The rows are those the
``/automations`` routes serve; each call is one transaction, and every refusal is a tool error naming the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.errors import AraError, ToolFailed
from ara.runtime.automations import service
from ara.runtime.automations.fields import AGENT_TURN, APP_AGENT_CALL
from ara.runtime.tools.base import Tool, ToolContext

_SCHEDULE: dict[str, Any] = {
    "schedule_kind": {
        "type": "string",
        "enum": ["cron", "every", "at"],
        "description": "cron: a cron expression; every: a fixed period; at: once, at a moment",
    },
    "cron": {"type": "string", "description": "for cron: a 5-field cron expression, e.g. '0 9 * * 1-5'"},
    "every_seconds": {"type": "integer", "minimum": 1, "description": "for every: the period in seconds"},
    "at": {"type": "string", "description": "for at: an ISO 8601 moment, e.g. 2030-01-01T09:00:00Z"},
    "timezone": {"type": "string", "description": "IANA time zone the cron expression is read in (default UTC)"},
}
_MESSAGE = {"type": "string", "description": "the message the agent receives each time the automation fires"}
_ID = {"type": "string", "description": "the automation's id (auto-...), from automation_list"}


def _in_transaction(ctx: ToolContext, work: Callable[[Session], Any]) -> Any:
    if ctx.writer is None:
        raise ToolFailed("automations need the server's database, which this tool context does not have")
    try:
        with unit_of_work(ctx.writer) as session:
            return work(session)
    except ToolFailed:
        raise
    except AraError as exc:  # a bad field (400) or another user's id (404): the model reads why
        raise ToolFailed(exc.message) from None


def _body(args: dict[str, Any]) -> dict[str, Any]:
    """The tool's arguments as the routes' job fields (``cron`` is ``schedule_expr``; ``message`` the payload)."""
    if str(args.get("execution_kind") or "").strip() == APP_AGENT_CALL:
        raise ToolFailed("payload.kind: app agent calls arrive with apps; use a message (agent_turn)")
    body = {
        key: args[key]
        for key in ("name", "schedule_kind", "every_seconds", "at", "timezone", "enabled", "max_retries")
        if args.get(key) not in (None, "")
    }
    expr = args.get("cron") or args.get("schedule_expr")
    if expr:
        body["schedule_expr"] = expr
    if isinstance(body.get("enabled"), str):
        body["enabled"] = body["enabled"].strip().lower() in ("1", "true", "yes", "on")
    if args.get("message") not in (None, ""):
        body["payload"] = {"kind": AGENT_TURN, "message": args["message"]}
    return body


def _create(ctx: ToolContext, args: dict[str, Any]) -> Any:
    body = _body(args)
    return _in_transaction(ctx, lambda s: service.describe_job(service.create_job(s, ctx.user_id, body)))


def _list(ctx: ToolContext, args: dict[str, Any]) -> Any:
    def work(session: Session) -> Any:
        return {"jobs": [service.describe_job(job) for job in service.list_jobs(session, ctx.user_id)]}

    return _in_transaction(ctx, work)


def _update(ctx: ToolContext, args: dict[str, Any]) -> Any:
    job_id = str(args.get("id") or "").strip()
    if not job_id:
        raise ToolFailed("id: which automation to change (automation_list shows their ids)")
    body = _body(args)
    if not body:
        raise ToolFailed("nothing to change: give name, enabled, message or a schedule")
    return _in_transaction(ctx, lambda s: service.describe_job(service.update_job(s, ctx.user_id, job_id, body)))


def _delete(ctx: ToolContext, args: dict[str, Any]) -> Any:
    job_id = str(args.get("id") or "").strip()
    if not job_id:
        raise ToolFailed("id: which automation to delete (automation_list shows their ids)")

    def work(session: Session) -> Any:
        service.delete_job(session, ctx.user_id, job_id)
        return {"deleted": job_id}

    return _in_transaction(ctx, work)


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


AUTOMATION_TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "automation_create",
            "Schedule a message to yourself: a cron, a fixed period (every) or one moment (at). Each firing runs "
            "one chat turn with the message in this user's session.",
            _object(
                {"name": {"type": "string", "description": "a short name"}, **_SCHEDULE, "message": _MESSAGE},
                ["name", "schedule_kind", "message"],
            ),
            _create,
        ),
        Tool("automation_list", "List this user's automations: ids, schedules, next firing.", _object({}, []), _list),
        Tool(
            "automation_update",
            "Change an automation: rename it, enable or disable it, change its message or its schedule.",
            _object(
                {
                    "id": _ID,
                    "name": {"type": "string"},
                    "enabled": {"type": "boolean"},
                    **_SCHEDULE,
                    "message": _MESSAGE,
                },
                ["id"],
            ),
            _update,
        ),
        Tool("automation_delete", "Delete an automation and its run history.", _object({"id": _ID}, ["id"]), _delete),
    )
}
