"""An app's schedules, read from its manifest at each deploy and fired by the engine's clock.

A schedule row is keyed by its manifest id, so a redeploy that keeps a schedule's timing keeps its next firing
(no reset, no double firing); a changed timing is planned again from the deploy, a schedule that left the manifest
is deleted. The clock fires a due row by moving its ``next_fire_at`` with a conditional update (two clocks never
both win) and starts a normal app run whose idempotency key names the firing (a second start finds the first run).
After downtime only the latest missed firing runs; only an active app's firings start runs (a draft's or a paused
app's pass without one). Timing arithmetic is the automations' (one way to compute a next firing); every moment
here is an aware UTC datetime."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ara.apps import manifest as manifests
from ara.apps.logs import emit
from ara.apps.models import App, AppSchedule
from ara.apps.runs import start_run
from ara.db.types import iso, utcnow
from ara.errors import AraError, ValidationFailed
from ara.runtime.automations import schedules as timing
from ara.settings import Settings

log = logging.getLogger("ara.apps")

#: The SDK refuses shorter ``every`` periods; a manifest sent by hand is held to the same floor.
MIN_EVERY_SECONDS = 60
#: Schedules the clock fires in one tick at most (the rest wait for the next second).
FIRE_BATCH = 100
#: The input key that makes a scheduled run call one tool instead of the agent's model (``invoke.tool``).
SCHEDULED_TOOL = "scheduled_tool"
#: A schedule id's length at most (the column's).
MAX_ID = 255
#: Apps in these statuses keep their schedules, whose firings pass without a run (activating fires nothing missed):
#: a draft was deployed with ``--activate false``, a paused app was stopped.
SILENT_STATUSES = ("draft", "paused")


@dataclass(frozen=True)
class Timing:
    """What decides when a schedule fires; equal timings on a redeploy keep the row's next firing."""

    kind: str  # cron | every
    cron: str | None
    timezone: str
    every_seconds: int | None
    one_shot_at: dt.datetime | None


@dataclass(frozen=True)
class Declared:
    schedule_id: str
    agent_id: str  # the agent each firing runs (``run.agent_id``, else the agent that declares it)
    timing: Timing
    run: dict[str, Any]


# -- reading the manifest ---------------------------------------------------------------------------------------
def declared(manifest: dict[str, Any]) -> list[Declared]:
    """Every schedule of ``agent.agents[].schedules``; a bad one is ``ValidationFailed`` naming its field (the
    deploy answers 400 and stores nothing)."""
    agent_ids = {row["id"] for row in manifests.agents(manifest)}
    tool_names = {str(row["function"].get("name") or "") for row in manifests.tools(manifest)}
    found: dict[str, Declared] = {}
    for field, owner, entry in manifests.located_schedules(manifest):
        schedule_id = str(entry["id"])
        if len(schedule_id) > MAX_ID:
            raise ValidationFailed({f"{field}.id": [f"at most {MAX_ID} characters"]})
        if schedule_id in found:
            raise ValidationFailed({f"{field}.id": ["two schedules have this id; ids must be unique in an app"]})
        run = entry.get("run") if isinstance(entry.get("run"), dict) else {}
        run_type = str(run.get("type") or "agent")
        if run_type == "tool":  # invoke.tool: the tool runs in the workspace of the agent the SDK hung it on
            tool_name = str(run.get("tool_name") or run.get("tool") or "")
            if tool_name not in tool_names:
                raise ValidationFailed({f"{field}.run.tool_name": [f"the app has no tool {tool_name!r}"]})
            if not isinstance(run.get("args", {}), dict):
                raise ValidationFailed({f"{field}.run.args": ["an object of the tool's arguments"]})
        elif run_type != "agent":
            raise ValidationFailed({f"{field}.run.type": [f"{run_type!r}: a schedule runs an 'agent' or a 'tool'"]})
        agent_id = str(run.get("agent_id") or owner) if run_type == "agent" else owner
        if agent_id not in agent_ids:
            raise ValidationFailed({f"{field}.run.agent_id": [f"the app has no agent {agent_id!r}"]})
        found[schedule_id] = Declared(schedule_id, agent_id, entry_timing(entry, field), dict(run))
    return list(found.values())


def entry_timing(entry: dict[str, Any], field: str) -> Timing:
    """The one check of a schedule's timing (``apps.validation`` calls it too): kind, ``every_seconds`` of at
    least ``MIN_EVERY_SECONDS``, a cron expression and its time zone, ``one_shot_at``."""
    kind = str(entry.get("kind") or "")
    if kind == "every":
        seconds = entry.get("every_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < MIN_EVERY_SECONDS:
            raise ValidationFailed(
                {f"{field}.every_seconds": [f"{seconds!r}: a whole number of seconds, at least {MIN_EVERY_SECONDS}"]}
            )
        return Timing("every", None, "UTC", seconds, None)
    if kind != "cron":
        raise ValidationFailed({f"{field}.kind": [f"{kind!r}: a schedule is 'cron' or 'every'"]})
    expression = str(entry.get("cron") or "").strip()
    zone = str(entry.get("timezone") or "UTC").strip() or "UTC"
    if len(expression) > MAX_ID:
        raise ValidationFailed({f"{field}.cron": [f"at most {MAX_ID} characters"]})
    try:
        timing.check_cron(expression)
    except ValidationFailed as exc:
        raise ValidationFailed({f"{field}.cron": _messages(exc)}) from None
    try:
        timing.zone(zone)
    except ValidationFailed as exc:
        raise ValidationFailed({f"{field}.timezone": _messages(exc)}) from None
    return Timing("cron", expression, zone, None, _one_shot(entry.get("one_shot_at"), field))


def _one_shot(raw: Any, field: str) -> dt.datetime | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed({f"{field}.one_shot_at": [f"{raw!r} is not an ISO 8601 moment"]}) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _messages(error: ValidationFailed) -> list[str]:
    return [message for messages in (error.detail or {}).values() for message in messages]


# -- deploy -----------------------------------------------------------------------------------------------------
def sync_schedules(session: Session, app: App, now: dt.datetime | None = None) -> None:
    """Make ``app_schedules`` match ``app.manifest`` (called by every deploy): same id and same timing keep their
    row and next firing; changed ones are re-timed; gone ones are deleted."""
    now = now or utcnow()
    wanted = declared(app.manifest or {})
    rows = {row.schedule_id: row for row in session.scalars(select(AppSchedule).where(AppSchedule.app_id == app.id))}
    for item in wanted:
        row = rows.pop(item.schedule_id, None)
        if row is None:
            row = AppSchedule(app_id=app.id, schedule_id=item.schedule_id)
            session.add(row)
        if _timing_of(row) != item.timing:  # new, or re-timed: plan from now
            _set_timing(row, item.timing)
            _plan(row, now)
        if row.agent_id != item.agent_id:
            row.agent_id = item.agent_id
        if row.run != item.run:
            row.run = item.run
    for gone in rows.values():
        session.delete(gone)
    session.flush()


def _timing_of(row: AppSchedule) -> Timing:
    return Timing(row.kind, row.cron, row.timezone, row.every_seconds, row.one_shot_at)


def _set_timing(row: AppSchedule, value: Timing) -> None:
    row.kind, row.cron, row.timezone = value.kind, value.cron, value.timezone
    row.every_seconds, row.one_shot_at = value.every_seconds, value.one_shot_at


def _plan(row: AppSchedule, now: dt.datetime) -> None:
    """The first firing from ``now``: the one-shot's moment (disabled if it has passed), else the next period."""
    if row.one_shot_at is not None:
        row.next_fire_at = row.one_shot_at if row.one_shot_at > now else None
    else:
        row.next_fire_at = timing.next_after(row.kind, now, expr=row.cron, every=row.every_seconds, tz=row.timezone)
    row.enabled = row.next_fire_at is not None


# -- the clock --------------------------------------------------------------------------------------------------
def _due(now: dt.datetime) -> Any:
    return select(AppSchedule).where(AppSchedule.enabled.is_(True), AppSchedule.next_fire_at <= now)


def any_due(session: Session, now: dt.datetime) -> bool:
    """A cheap read first: most seconds fire nothing, and then the clock opens no write transaction."""
    return session.scalar(_due(now).with_only_columns(AppSchedule.id).limit(1)) is not None


def fire_due(session: Session, now: dt.datetime, *, settings: Settings | None = None) -> int:
    """Start a run for every enabled schedule whose next firing has come (the latest due time only), once.
    Returns how many runs this call started."""
    settings = settings or Settings()
    query = _due(now).add_columns(App.status).join(App, App.id == AppSchedule.app_id)
    rows = session.execute(query.order_by(AppSchedule.next_fire_at).limit(FIRE_BATCH)).all()
    started = 0
    for row, app_status in rows:
        fire_time, following = _next_move(row, now)
        claimed = session.execute(
            update(AppSchedule)
            .where(AppSchedule.id == row.id, AppSchedule.enabled.is_(True))
            .where(AppSchedule.next_fire_at == row.next_fire_at)
            .values(next_fire_at=following, last_fired_at=fire_time, enabled=following is not None)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another clock fired it, or a deploy re-timed it, since this one read it
        if app_status not in SILENT_STATUSES:  # a draft's or a paused app's firings pass without a run
            started += _start(session, settings, row, fire_time)
    session.flush()
    return started


def _next_move(row: AppSchedule, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """The firing to run now (the latest one missed) and the next one (None: a one-shot is spent)."""
    assert row.next_fire_at is not None
    if row.one_shot_at is not None:
        return row.next_fire_at, None
    times, following = timing.missed(
        row.kind, row.next_fire_at, now, expr=row.cron, every=row.every_seconds, tz=row.timezone
    )
    return timing.to_fire(timing.FIRE_LATEST_ONLY, times, now)[-1], following


def firing_input(run: dict[str, Any]) -> dict[str, Any]:
    """What a firing's run starts from: an agent's ``input`` (a non-object one as ``input``), or for a scheduled
    tool ``{SCHEDULED_TOOL: {name, args}}``, which only a ``schedule``-triggered run honours (``scheduled_tool``)."""
    if run.get("type") == "tool":
        name = str(run.get("tool_name") or run.get("tool") or "")
        return {SCHEDULED_TOOL: {"name": name, "args": dict(run.get("args") or {})}}
    given = run.get("input")
    return dict(given) if isinstance(given, dict) else ({} if given is None else {"input": given})


def scheduled_tool(trigger: str, run_input: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(tool name, args)`` when the run is a scheduled tool call (never for a run an API caller started, whatever
    its input says), else None."""
    call = run_input.get(SCHEDULED_TOOL) if trigger == "schedule" else None
    if not isinstance(call, dict) or not call.get("name"):
        return None
    args = call.get("args")
    return str(call["name"]), dict(args) if isinstance(args, dict) else {}


def firing_key(schedule_id: str, stamp: str | None) -> str:
    """The run's idempotency key: one run per schedule per firing time, whichever clock starts it (a long id is
    hashed to fit the column)."""
    key = f"schedule:{schedule_id}:{stamp}"
    if len(key) <= MAX_ID:
        return key
    return f"schedule:{hashlib.sha256(schedule_id.encode()).hexdigest()}:{stamp}"


def _start(session: Session, settings: Settings, row: AppSchedule, fire_time: dt.datetime) -> int:
    """One firing's run, in a savepoint: a schedule that cannot start (its app lost the agent meanwhile) is
    logged on the app's live log and leaves the others' firings alone. Returns 1 for a new run."""
    app = session.get(App, row.app_id)
    assert app is not None
    stamp = iso(fire_time)
    base = firing_input(row.run if isinstance(row.run, dict) else {})
    try:
        with session.begin_nested():
            _run, created = start_run(
                session,
                settings,
                app,
                agent_id=row.agent_id,
                input={**base, "schedule_id": row.schedule_id, "fire_time": stamp},
                trigger="schedule",
                idempotency_key=firing_key(row.schedule_id, stamp),
            )
    except AraError as exc:
        log.warning("schedule %s of app %s did not start: %s", row.schedule_id, row.app_id, exc.message)
        emit(session, row.app_id, None, "schedule.failed", f"schedule {row.schedule_id}: {exc.message}", "error")
        return 0
    return 1 if created else 0
