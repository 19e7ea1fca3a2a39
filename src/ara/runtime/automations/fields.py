"""An automation job's fields, checked the same way for the HTTP routes and the model's tools: each bad field is a
400 naming it (``schedule_expr``, ``every_seconds``, ``at``, ``timezone``, ``payload.kind``...).

``null`` counts as absent (the 0.1.58 client sends ``every_seconds: null`` with a cron schedule). Numbers may
arrive as strings of digits (a CLI ``--arg`` is always a string)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ara.db.types import utcnow
from ara.errors import ValidationFailed
from ara.runtime.automations import schedules
from ara.runtime.automations.models import AutomationJob

AGENT_TURN, APP_AGENT_CALL = "agent_turn", "app_agent_call"
EXECUTION_MODES = ("sandbox_required", "centralized_ok")
SCHEDULE_FIELDS = ("schedule_kind", "schedule_expr", "every_seconds", "at", "timezone")
OTHER_FIELDS = (
    "name",
    "payload",
    "enabled",
    "execution_mode",
    "misfire_policy",
    "max_retries",
    "retry_backoff_seconds",
)
MAX_EVERY_SECONDS = 366 * 24 * 3600
MAX_MESSAGE = 100_000


@dataclass(frozen=True)
class JobFields:
    values: dict[str, Any]  # column -> value, only what the body sets
    reschedules: bool  # the schedule changed: the next firing is planned again


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


def _integer(body: dict[str, Any], field: str, low: int, high: int) -> int:
    value = body[field]
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,18}", value.strip()):  # not isdigit: '²' is one
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, "must be an integer")
    if not low <= value <= high:
        raise _fail(field, f"must be between {low} and {high}")
    return value


def _choice(body: dict[str, Any], field: str, choices: tuple[str, ...]) -> str:
    value = body[field]
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise _fail(field, f"{value!r} is not one of {', '.join(choices)}")
    return value.strip().lower()


def _moment(value: Any, tz: str) -> dt.datetime:
    """An ISO 8601 moment; one without an offset is read in the job's time zone."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _fail("at", f"not an ISO 8601 moment: {value!r}") from None
    else:
        raise _fail("at", "must be an ISO 8601 moment such as 2030-01-01T09:00:00Z")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=schedules.zone(tz))
    return moment.astimezone(dt.UTC)


def payload_of(value: Any) -> dict[str, Any]:
    """What a firing does: ``{kind: "agent_turn", message}``; app agent calls wait for apps."""
    if not isinstance(value, dict):
        raise _fail("payload", 'must be an object such as {"kind": "agent_turn", "message": "..."}')
    kind = value.get("kind") or (AGENT_TURN if "message" in value else None)
    if kind == APP_AGENT_CALL:
        raise _fail("payload.kind", "app agent calls arrive with apps; use agent_turn")
    if kind != AGENT_TURN:
        raise _fail("payload.kind", f"{kind!r} is not a payload kind (agent_turn)")
    message = value.get("message")
    if not isinstance(message, str) or not message.strip():
        raise _fail("payload.message", "the message the agent turn sends is required")
    if len(message) > MAX_MESSAGE:
        raise _fail("payload.message", f"at most {MAX_MESSAGE} characters")
    return {**value, "kind": AGENT_TURN}


def _schedule(merged: dict[str, Any]) -> dict[str, Any]:
    """The schedule columns for the merged fields: the kind's own field required, the others cleared."""
    kind = _choice(merged, "schedule_kind", schedules.KINDS) if merged.get("schedule_kind") is not None else None
    if kind is None:
        raise _fail("schedule_kind", f"required: one of {', '.join(schedules.KINDS)}")
    tz = merged.get("timezone") or "UTC"
    if not isinstance(tz, str):
        raise _fail("timezone", "must be a time zone name")
    schedules.zone(tz.strip())
    values: dict[str, Any] = {
        "schedule_kind": kind,
        "timezone": tz.strip(),
        "schedule_expr": None,
        "every_seconds": None,
        "at": None,
    }
    if kind == schedules.CRON:
        expr = merged.get("schedule_expr")
        if not isinstance(expr, str) or not expr.strip():
            raise _fail("schedule_expr", "a cron schedule needs schedule_expr (such as '0 9 * * *')")
        schedules.check_cron(expr.strip())
        values["schedule_expr"] = expr.strip()
    elif kind == schedules.EVERY:
        if merged.get("every_seconds") is None:
            raise _fail("every_seconds", "an every schedule needs every_seconds")
        values["every_seconds"] = _integer(merged, "every_seconds", 1, MAX_EVERY_SECONDS)
    else:
        if merged.get("at") is None:
            raise _fail("at", "a one-shot schedule needs at (an ISO 8601 moment)")
        values["at"] = _moment(merged["at"], values["timezone"])
        if values["at"] <= utcnow():
            raise _fail("at", f"{merged['at']} is in the past")
    return values


def _current(job: AutomationJob | None) -> dict[str, Any]:
    if job is None:
        return {}
    return {name: getattr(job, name) for name in SCHEDULE_FIELDS}


def parse_fields(body: dict[str, Any], *, creating: bool, current: AutomationJob | None = None) -> JobFields:
    unknown = sorted(set(body) - set(SCHEDULE_FIELDS) - set(OTHER_FIELDS))
    if unknown:
        raise ValidationFailed({name: ["unknown field"] for name in unknown})
    given = {name: value for name, value in body.items() if value is not None}
    if creating:
        for required in ("name", "payload"):
            if required not in given:
                raise _fail(required, "required")
    values: dict[str, Any] = {}
    if "name" in given:
        name = given["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
            raise _fail("name", "a non-empty string of at most 255 characters")
        values["name"] = name.strip()
    if "payload" in given:
        # PATCH merges into the stored payload (the 0.1.58 CLI's ``update --deliver`` sends only ``deliver``)
        before = current.payload if current is not None and isinstance(given["payload"], dict) else {}
        values["payload"] = payload_of({**before, **given["payload"]} if before else given["payload"])
    if "enabled" in given:
        if not isinstance(given["enabled"], bool):
            raise _fail("enabled", "must be true or false")
        values["enabled"] = given["enabled"]
    if "execution_mode" in given:
        values["execution_mode"] = _choice(given, "execution_mode", EXECUTION_MODES)
    if "misfire_policy" in given:
        values["misfire_policy"] = _choice(given, "misfire_policy", schedules.MISFIRE_POLICIES)
    if "max_retries" in given:
        values["max_retries"] = _integer(given, "max_retries", 0, 20)
    if "retry_backoff_seconds" in given:
        values["retry_backoff_seconds"] = _integer(given, "retry_backoff_seconds", 0, 24 * 3600)
    reschedules = creating or any(name in given for name in SCHEDULE_FIELDS)
    if reschedules:
        merged = {**_current(current), **{k: v for k, v in given.items() if k in SCHEDULE_FIELDS}}
        if current is not None and "schedule_kind" in given and given["schedule_kind"] != current.schedule_kind:
            # a new kind takes only what this body says about it
            merged = {k: v for k, v in given.items() if k in SCHEDULE_FIELDS} | {"timezone": merged.get("timezone")}
        values.update(_schedule(merged))
    return JobFields(values, reschedules)
