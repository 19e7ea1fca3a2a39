"""Schedules as the manifest spells them: ``{"id", "kind": "cron", "cron", "timezone", "run"[, "one_shot_at"]}``
or ``{"id", "kind": "every", "every_seconds", "run"}``, where ``run`` is ``invoke.agent(...)`` or
``invoke.tool(...)``. Three ways in: ``schedule.cron/every(...)`` passed to ``@app.agent(schedules=[...])``,
``@app.schedule(cron=..., at=[...])`` on a decorated function (clock times ``"09:30"``, 5-field cron or ISO
timestamps; an ISO one is a one-shot: cron for that minute plus ``one_shot_at``), and ``scheduler`` (the
runtime's ``automation_create`` tool call). Ids are stable (derived from the declaration, never random), so
a redeploy updates a schedule in place rather than adding a second one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ara_sdk.validation import DeclarationError, ensure_json, slugify

MIN_EVERY_SECONDS = 60
AT_CLOCK_RE = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")
_PLACEHOLDER_RUN = {"type": "agent", "agent_id": "__schedule_placeholder__"}


class Invoke:
    """What a schedule runs: ``invoke.agent("digest", input={...})`` or ``invoke.tool("add", args={...})``."""

    @staticmethod
    def agent(agent_id: str, *, input: Any | None = None) -> dict[str, Any]:
        target = str(agent_id or "").strip()
        if not target:
            raise DeclarationError("invoke.agent(...) requires a non-empty agent_id")
        out: dict[str, Any] = {"type": "agent", "agent_id": target}
        if input is not None:
            ensure_json(input, context="invoke.agent(..., input=...)")
            out["input"] = input
        return out

    @staticmethod
    def tool(tool_name: str, *, args: dict[str, Any] | None = None) -> dict[str, Any]:
        target = str(tool_name or "").strip()
        if not target:
            raise DeclarationError("invoke.tool(...) requires a non-empty tool name")
        return {"type": "tool", "tool_name": target, "args": dict(args or {})}


class Schedule:
    """``schedule.cron(expr=..., run=...)`` and ``schedule.every(seconds=..., run=...)``; the id defaults to
    the target and the timing (``digest-every-120s``)."""

    @staticmethod
    def cron(*, expr: str, run: dict[str, Any], id: str | None = None, timezone: str = "UTC") -> dict[str, Any]:
        run_spec = dict(run or {})
        generated = f"{_target_hint(run_spec)}-{slugify(str(expr or ''))[:24] or 'cron'}"
        return normalize_spec(
            {
                "id": str(id or generated).strip(),
                "kind": "cron",
                "cron": str(expr or "").strip(),
                "timezone": str(timezone or "UTC").strip() or "UTC",
                "run": run_spec,
            }
        )

    @staticmethod
    def every(*, seconds: int, run: dict[str, Any], id: str | None = None) -> dict[str, Any]:
        run_spec = dict(run or {})
        generated = f"{_target_hint(run_spec)}-every-{int(seconds)}s"
        return normalize_spec(
            {"id": str(id or generated).strip(), "kind": "every", "every_seconds": int(seconds), "run": run_spec}
        )


class Scheduler:
    """A schedule as the runtime's ``automation_create`` tool call (for an agent that schedules at run time)."""

    @staticmethod
    def create(spec: dict[str, Any], *, app_id: str | None = None) -> dict[str, Any]:
        return {"tool": "automation_create", "args": automation_args(spec, app_id=app_id)}

    @staticmethod
    def upsert(spec: dict[str, Any], *, app_id: str | None = None) -> dict[str, Any]:
        return {"tool": "automation_create", "args": {**automation_args(spec, app_id=app_id), "upsert": True}}


invoke = Invoke()
schedule = Schedule()
scheduler = Scheduler()


def normalize_run(run: Any) -> dict[str, Any]:
    if not isinstance(run, dict):
        raise DeclarationError("schedule run must be a dict")
    kind = str(run.get("type") or "").strip().lower()
    if kind == "agent":
        agent_id = str(run.get("agent_id") or "").strip()
        if not agent_id:
            raise DeclarationError("invoke.agent(...) requires non-empty agent id")
        out: dict[str, Any] = {"type": "agent", "agent_id": agent_id}
        if "input" in run:
            ensure_json(run["input"], context="invoke.agent(..., input=...)")
            out["input"] = run["input"]
        return out
    if kind == "tool":
        tool_name = str(run.get("tool_name") or run.get("tool") or "").strip()
        if not tool_name:
            raise DeclarationError("invoke.tool(...) requires non-empty tool name")
        args = run.get("args")
        return {"type": "tool", "tool_name": tool_name, "args": dict(args) if isinstance(args, dict) else {}}
    raise DeclarationError("schedule run type must be 'agent' or 'tool'")


def normalize_spec(spec: Any) -> dict[str, Any]:
    """One schedule in its manifest form (``every`` at least 60 s; ``one_shot_at`` as UTC ``...Z``)."""
    if not isinstance(spec, dict):
        raise DeclarationError("schedule spec must be a dict")
    schedule_id = str(spec.get("id") or "").strip()
    if not schedule_id:
        raise DeclarationError("schedule id is required")
    kind = str(spec.get("kind") or "").strip().lower()
    if kind not in {"cron", "every"}:
        raise DeclarationError("schedule kind must be 'cron' or 'every'")
    run = normalize_run(spec.get("run"))
    if kind == "cron":
        expr = str(spec.get("cron") or spec.get("expr") or "").strip()
        if not expr:
            raise DeclarationError("cron schedule requires expr/cron")
        out = {
            "id": schedule_id,
            "kind": "cron",
            "cron": expr,
            "timezone": str(spec.get("timezone") or "UTC").strip() or "UTC",
            "run": run,
        }
        one_shot = spec.get("one_shot_at")
        if one_shot is not None and str(one_shot).strip():
            try:
                out["one_shot_at"] = _utc_z(_parse_iso(str(one_shot)))
            except ValueError as exc:
                raise DeclarationError("cron schedule one_shot_at must be a valid ISO8601 timestamp") from exc
        return out
    try:
        seconds = int(spec.get("every_seconds", spec.get("seconds")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DeclarationError("every schedule requires integer seconds") from None
    if seconds < MIN_EVERY_SECONDS:
        raise DeclarationError("every schedule minimum interval is 60 seconds")
    return {"id": schedule_id, "kind": "every", "every_seconds": seconds, "run": run}


def at_entry(token: Any, *, timezone: str) -> dict[str, Any]:
    """One ``at=`` token as cron: ``"09:30"`` daily in ``timezone``, a 5-field cron as is, an ISO timestamp as a
    one-shot (its UTC minute, day and month, plus ``one_shot_at``; the server disables it after it fires)."""
    text = str(token or "").strip()
    if not text:
        raise DeclarationError("app.schedule(at=...) entries cannot be empty")
    if len(text.split()) == 5:
        return {"kind": "cron", "cron": text, "timezone": timezone}
    clock = AT_CLOCK_RE.match(text)
    if clock:
        hour, minute = int(clock["hour"]), int(clock["minute"])
        if hour > 23 or minute > 59:
            raise DeclarationError("app.schedule(at=...) HH:MM values must be within 00:00-23:59")
        return {"kind": "cron", "cron": f"{minute} {hour} * * *", "timezone": timezone}
    try:
        when = _parse_iso(text).astimezone(dt.UTC)
    except ValueError as exc:
        raise DeclarationError(
            "app.schedule(at=...) entries must be HH:MM, 5-field cron, or ISO8601 timestamp"
        ) from exc
    return {
        "kind": "cron",
        "cron": f"{when.minute} {when.hour} {when.day} {when.month} *",
        "timezone": "UTC",
        "one_shot_at": _utc_z(when),
    }


def decorator_entries(
    *, id: str, cron: str, at: list[Any] | None, timezone: str, run: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """``@app.schedule``'s entries, not yet bound to a target (``run`` may be absent). One source keeps the bare
    id; several get ``<id>--<slug of the token>`` (``morning--09-30``), ``--cron`` for the ``cron=`` one."""
    base_id = slugify(id)
    if not base_id:
        raise DeclarationError("app.schedule(...) requires a non-empty id or function name")
    sources: list[tuple[str, dict[str, Any]]] = []
    if str(cron or "").strip():
        sources.append(("cron", {"kind": "cron", "cron": str(cron).strip(), "timezone": timezone}))
    for index, token in enumerate(at or [], start=1):
        sources.append((slugify(str(token)) or f"at-{index}", at_entry(token, timezone=timezone)))
    if not sources:
        raise DeclarationError("app.schedule(...) requires at least one of cron= or at=")
    bound_run = normalize_run(run) if isinstance(run, dict) else None
    entries: list[dict[str, Any]] = []
    for suffix, timing in sources:
        entry_id = f"{base_id}--{suffix}" if len(sources) > 1 else base_id
        checked = normalize_spec({"id": entry_id, **timing, "run": _PLACEHOLDER_RUN})  # validate the timing now
        entry: dict[str, Any] = {"id": checked["id"], "kind": checked["kind"]}
        if checked["kind"] == "cron":
            entry["cron"] = checked["cron"]
            entry["timezone"] = checked.get("timezone") or "UTC"
            if checked.get("one_shot_at"):
                entry["one_shot_at"] = str(checked["one_shot_at"])
        if bound_run is not None:
            entry["run"] = dict(bound_run)
        entries.append(entry)
    return entries


def bind_entries(entries: list[dict[str, Any]], *, target_kind: str, target_id: str) -> list[dict[str, Any]]:
    """Entries without a ``run`` run their decorated agent or tool."""
    bound: list[dict[str, Any]] = []
    for raw in entries:
        if not isinstance(raw, dict):
            continue
        base: dict[str, Any] = {
            "id": str(raw.get("id") or "").strip(),
            "kind": str(raw.get("kind") or "").strip().lower(),
        }
        if base["kind"] == "cron":
            base["cron"] = str(raw.get("cron") or "").strip()
            base["timezone"] = str(raw.get("timezone") or "UTC").strip() or "UTC"
            if raw.get("one_shot_at") is not None:
                base["one_shot_at"] = raw.get("one_shot_at")
        else:
            base["every_seconds"] = int(raw.get("every_seconds", 0) or 0)
        run = raw.get("run") if isinstance(raw.get("run"), dict) else None
        if run is None:
            if target_kind == "agent":
                run = invoke.agent(target_id)
            elif target_kind == "tool":
                run = invoke.tool(target_id)
            else:
                raise DeclarationError(f"Unsupported schedule target kind: {target_kind}")
        bound.append(normalize_spec({**base, "run": run}))
    return bound


def merge(existing: list[dict[str, Any]] | None, incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``existing`` with ``incoming`` applied by id: a known id replaced in place, a new one appended."""
    out = [dict(item) for item in existing or [] if isinstance(item, dict)]
    index = {str(item.get("id") or ""): i for i, item in enumerate(out)}
    for item in incoming:
        schedule_id = str(item.get("id") or "").strip()
        if not schedule_id:
            continue
        if schedule_id in index:
            out[index[schedule_id]] = dict(item)
        else:
            index[schedule_id] = len(out)
            out.append(dict(item))
    return out


def automation_args(spec: Any, *, app_id: str | None = None) -> dict[str, Any]:
    normalized = normalize_spec(spec)
    run = normalized["run"]
    args: dict[str, Any] = {"name": normalized["id"], "schedule_kind": normalized["kind"]}
    if normalized["kind"] == "cron":
        args["schedule_expr"] = normalized["cron"]
        args["timezone"] = normalized.get("timezone") or "UTC"
    else:
        args["every_seconds"] = int(normalized["every_seconds"])
    if run["type"] == "agent":
        args["execution_kind"] = "app_agent_call"
        args["agent_id"] = run["agent_id"]
        if run.get("input") is not None:
            args["input"] = run["input"]
    else:
        args["execution_kind"] = "app_tool_call"
        args["tool_name"] = run["tool_name"]
        if run.get("args"):
            args["tool_args"] = run["args"]
    if app_id:
        args["app_id"] = str(app_id).strip()
    return args


def _target_hint(run: dict[str, Any]) -> str:
    kind = str(run.get("type") or "").strip().lower()
    if kind == "agent":
        return str(run.get("agent_id") or "").strip() or "agent"
    if kind == "tool":
        return str(run.get("tool_name") or "").strip() or "tool"
    return "run"


def _parse_iso(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _utc_z(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
