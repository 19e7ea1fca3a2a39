"""The engine's clock, ticked once a second by whichever executor keeps time (the embedded executor's timer
thread; on PostgreSQL a procrastinate periodic task that exactly one worker runs per second): fire due schedules
and records-event triggers (through the one run-creation pipeline), lapse expired approvals and time out parked
runs, send app runs' webhook deliveries. Every firing is keyed, so a second tick for the same second creates nothing."""

from __future__ import annotations

import datetime as dt
import logging

from croniter import croniter
from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ara.apps import schedules as app_schedules
from ara.db.session import unit_of_work
from ara.engine.app_webhooks import deliver_webhooks
from ara.engine.context import EngineContext
from ara.errors import AraError
from ara.lifecycle.ending import end_run
from ara.lifecycle.states import PARKED, RunStatus
from ara.playbooks.durations import parse_duration
from ara.playbooks.models import PlaybookDefinition, PlaybookRun
from ara.playbooks.runs import create_run
from ara.playbooks.spec import PlaybookSpec
from ara.records import models as rm
from ara.records.expiry import expire_silent_playbooks
from ara.records.idempotency import prune
from ara.runtime.automations.service import any_due, fire_due
from ara.runtime.recording import close_stopped_sessions
from ara.runtime.sessions import any_idle_session, stop_idle_sessions

log = logging.getLogger("ara.engine")
# Records events are looked for in this window behind each tick (the trigger key makes repeats no-ops), so a
# tick that comes late, or a recorded playbook committed just after a tick read, still fires.
RECORDS_EVENT_WINDOW = dt.timedelta(seconds=30)


def tick(ctx: EngineContext, now: dt.datetime) -> None:
    """One second of the clock; each part's failure is logged and never stops the others."""
    for part, argument in (
        (expire_overdue, now),
        (fire_schedules, now),
        (fire_records_events, now - RECORDS_EVENT_WINDOW),
        (fire_automations, now),
        (fire_app_schedules, now),
        (stop_idle_runtime_sessions, now),
        (deliver_webhooks, now),
    ):
        try:
            part(ctx, argument)
        except Exception:
            log.exception("housekeeping %s failed", part.__name__)


def previous_fire(expression: str, now: dt.datetime, anchor: dt.datetime) -> dt.datetime:
    """The latest firing time at or before ``now`` (``@every`` counts from ``anchor``)."""
    if expression.startswith("@every"):
        every = parse_duration(expression.removeprefix("@every").strip())
        periods = int((now - anchor).total_seconds() // every)
        return anchor + dt.timedelta(seconds=periods * every)
    return croniter(expression, now + dt.timedelta(microseconds=1)).get_prev(dt.datetime)


def _trigger(ctx: EngineContext, playbook_id: str, key: str, request: dict[str, object], trigger: str) -> None:
    """Create a run for a trigger event once: the (playbook, trigger_key) unique constraint drops a repeat."""
    try:
        with unit_of_work(ctx.writer) as session:
            fired = select(PlaybookRun.id).where(PlaybookRun.playbook_id == playbook_id, PlaybookRun.trigger_key == key)
            if session.scalar(fired) is not None:
                return  # the usual case on every tick between two firings: no failed insert
            run = create_run(
                session,
                ctx.box,
                playbook_id=playbook_id,
                request=request,
                identity=None,
                trigger=trigger,
                check_permission=False,
            )
            run.trigger_key = key
            session.flush()
    except IntegrityError:
        pass  # fired already (another server, or an earlier tick)
    except AraError as exc:
        log.warning("%s trigger of playbook %s not run: %s", trigger, playbook_id, exc)
    except Exception:  # one definition's failure never stops the others' triggers
        log.exception("%s trigger of playbook %s failed", trigger, playbook_id)


# The tick's reads, built once: the live definitions' versions, one definition's spec, any approval or parked run
# that may be overdue (most seconds there is none, and the tick then takes no write lock).
_LIVE_VERSIONS = select(PlaybookDefinition.id, PlaybookDefinition.updated_at).where(
    PlaybookDefinition.deleted_at.is_(None)
)
_SPEC = select(PlaybookDefinition.name, PlaybookDefinition.spec).where(PlaybookDefinition.id == bindparam("id"))
_MAY_BE_OVERDUE = (
    select(PlaybookRun.id)
    .where(
        or_(
            and_(PlaybookRun.status == RunStatus.PENDING_APPROVAL, PlaybookRun.approval_expires_at <= bindparam("now")),
            and_(PlaybookRun.status.in_(PARKED), PlaybookRun.start_time.is_not(None)),
        )
    )
    .limit(1)
)


def _live_specs(ctx: EngineContext) -> list[tuple[str, dt.datetime, PlaybookSpec]]:
    """Each live definition's spec. A tick reads only the definitions' ids and versions (``updated_at``): a spec is
    read and validated once per saved version, not twice a second; one that no longer loads is logged once and left
    out, not fatal to the rest."""
    known = ctx.trigger_specs
    current: dict[str, tuple[dt.datetime, PlaybookSpec | None]] = {}
    with unit_of_work(ctx.reader) as session:
        for playbook_id, updated_at in session.execute(_LIVE_VERSIONS):
            entry = known.get(playbook_id)
            if entry is None or entry[0] != updated_at:
                entry = (updated_at, _validated_spec(session, playbook_id))
            current[playbook_id] = entry
    ctx.trigger_specs = current  # deleted definitions leave with it
    return [(playbook_id, at, spec) for playbook_id, (at, spec) in current.items() if spec is not None]


def _validated_spec(session: Session, playbook_id: str) -> PlaybookSpec | None:
    name, spec = session.execute(_SPEC, {"id": playbook_id}).one()
    try:
        return PlaybookSpec.model_validate(spec)
    except ValueError as exc:  # pydantic's ValidationError is one
        log.warning("playbook %s (%s) has an invalid spec, its triggers are skipped: %s", name, playbook_id, exc)
        return None


def fire_automations(ctx: EngineContext, now: dt.datetime) -> None:
    """Users' automation jobs whose time has come: their runs and the jobs' next firings in one transaction."""
    with unit_of_work(ctx.reader) as session:
        if not any_due(session, now):
            return
    with unit_of_work(ctx.writer) as session:
        fire_due(session, now)


def fire_app_schedules(ctx: EngineContext, now: dt.datetime) -> None:
    """Apps' schedules whose time has come: each firing a run on the ``agents`` queue (see ``apps.schedules``)."""
    with unit_of_work(ctx.reader) as session:
        if not app_schedules.any_due(session, now):
            return
    with unit_of_work(ctx.writer) as session:
        app_schedules.fire_due(session, now, settings=ctx.settings)


def fire_schedules(ctx: EngineContext, now: dt.datetime) -> None:
    for playbook_id, anchor, spec in _live_specs(ctx):
        for position, schedule in enumerate(spec.on.schedule):
            try:
                fire = previous_fire(schedule.schedule, now, anchor)
            except Exception as exc:  # a cron that never fires (saved before that was refused), an overflow...
                log.warning("schedule %r of playbook %s cannot fire: %s", schedule.schedule, playbook_id, exc)
                continue
            if fire <= anchor:
                continue  # nothing due since the definition was saved
            key = f"schedule:{position}:{fire.isoformat()}"
            _trigger(ctx, playbook_id, key, {"params": dict(schedule.parameters)}, "schedule")


def fire_records_events(ctx: EngineContext, since: dt.datetime) -> None:
    """Recorded playbooks (Ansible or others) that ended since ``since`` and match an ``on.records`` rule."""
    rules = [
        (playbook_id, index, rule)
        for playbook_id, _, spec in _live_specs(ctx)
        for index, rule in enumerate(spec.on.records)
    ]
    if not rules:
        return
    with unit_of_work(ctx.writer) as session:
        ended = list(
            session.scalars(
                select(rm.Playbook).where(
                    rm.Playbook.ended.is_not(None),
                    rm.Playbook.updated >= since,
                    rm.Playbook.status.in_(["failed", "completed", "expired"]),
                )
            )
        )
        events = []
        for playbook in ended:
            labels = {label.name for label in playbook.labels}
            if "playbook-run" in labels:
                continue  # a playbook run's own record never triggers another run
            for playbook_id, index, rule in rules:
                if rule.status == playbook.status and set(rule.labels) <= labels and rule.path in playbook.path:
                    request = {
                        "params": dict(rule.parameters),
                        "records_playbook": {"id": playbook.id, "path": playbook.path, "status": playbook.status},
                    }
                    events.append((playbook_id, f"records:{index}:{playbook.id}", request))
    for playbook_id, key, request in events:
        _trigger(ctx, playbook_id, key, request, "records")


def expire_overdue(ctx: EngineContext, now: dt.datetime) -> None:
    """Lapse approvals past their expiry and time out parked runs past their deadline (a parked run is also made
    due at its deadline; this catches one whose executor was away at that moment)."""
    with unit_of_work(ctx.reader) as session:
        if session.execute(_MAY_BE_OVERDUE, {"now": now}).first() is None:
            return
    with unit_of_work(ctx.writer) as session:
        for run in session.scalars(
            select(PlaybookRun).where(
                PlaybookRun.status == RunStatus.PENDING_APPROVAL, PlaybookRun.approval_expires_at <= now
            )
        ):
            end_run(session, run, RunStatus.TIMED_OUT, "approval expired")
        for run in session.scalars(
            select(PlaybookRun).where(PlaybookRun.status.in_(PARKED), PlaybookRun.start_time.is_not(None))
        ):
            assert run.start_time is not None
            if run.start_time + dt.timedelta(seconds=run.timeout) <= now:
                end_run(session, run, RunStatus.TIMED_OUT, f"run timed out after {run.timeout}s")


def stop_idle_runtime_sessions(ctx: EngineContext, now: dt.datetime) -> None:
    """Stop runtime sessions unused for ``runtime.idle_ttl_seconds`` (their files stay) and close their records
    playbooks."""
    with unit_of_work(ctx.reader) as session:
        if not any_idle_session(session, ctx.settings, now):
            return  # most seconds: no write transaction (SQLite's one writer stays free for requests)
    with unit_of_work(ctx.writer) as session:
        stopped = stop_idle_sessions(session, ctx.settings, now)
        if stopped:
            close_stopped_sessions(session)
    if stopped:
        log.info("%s idle runtime session(s) stopped", stopped)


def sweep_records(ctx: EngineContext, now: dt.datetime) -> None:
    """Expire playbooks whose callback went silent and forget old idempotency keys (the logic is the records
    domain's; this only ticks it)."""
    records = ctx.settings.records
    with unit_of_work(ctx.writer) as session:
        expired = expire_silent_playbooks(session, now=now, silence=records.expire_silent_after_seconds)
        prune(session, now - dt.timedelta(days=records.request_key_days))
    if expired:
        log.info("playbooks %s expired after %ss without news", expired, records.expire_silent_after_seconds)


def records_sweep_interval(ctx: EngineContext) -> float:
    """Often enough to expire within about a quarter of the silence, never more than once a second."""
    silence = ctx.settings.records.expire_silent_after_seconds
    return 60.0 if silence <= 0 else min(60.0, max(1.0, silence / 4))
