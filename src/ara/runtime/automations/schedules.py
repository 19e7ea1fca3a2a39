"""When an automation fires: the next time after a moment, and the times missed up to now.

Cron expressions are read in the job's time zone (``0 9 * * *`` in ``Europe/Paris`` is nine o'clock there, on
both sides of a daylight-saving change); ``every`` counts whole periods from the job's anchor; ``at`` fires once.
Every moment here is an aware UTC datetime."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ara.errors import ValidationFailed

CRON, EVERY, AT = "cron", "every", "at"
KINDS = (CRON, EVERY, AT)
FIRE_ALL, FIRE_LATEST_ONLY, SKIP_IF_LATE = "fire_all", "fire_latest_only", "skip_if_late"
MISFIRE_POLICIES = (FIRE_ALL, FIRE_LATEST_ONLY, SKIP_IF_LATE)
#: ``fire_all`` catches up at most this many missed firings at once (a server down for a month on a per-minute
#: job must not bury the queue); the rest are skipped.
MAX_CATCH_UP = 50
#: ``skip_if_late`` still fires a firing found this late (a clock tick is never exactly on time).
LATE_AFTER = dt.timedelta(seconds=60)
_TINY = dt.timedelta(microseconds=1)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            {"timezone": [f"unknown time zone {name!r} (an IANA name such as Europe/Paris)"]}
        ) from None


def check_cron(expression: str) -> None:
    if not croniter.is_valid(expression):
        raise ValidationFailed({"schedule_expr": [f"not a cron expression: {expression!r}"]})
    try:  # valid but never firing (``0 0 30 2 *``): croniter gives up looking
        croniter(expression, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).get_next(dt.datetime)
    except Exception:
        raise ValidationFailed({"schedule_expr": [f"{expression!r} never fires"]}) from None


def next_after(kind: str, moment: dt.datetime, *, expr: str | None, every: int | None, tz: str) -> dt.datetime:
    """The first firing strictly after ``moment`` (``every`` counts from ``moment`` itself)."""
    if kind == CRON:
        assert expr is not None
        local = moment.astimezone(zone(tz))
        fire: dt.datetime = croniter(expr, local).get_next(dt.datetime)
        return fire.astimezone(dt.UTC)
    assert kind == EVERY and every is not None
    return moment + dt.timedelta(seconds=every)


def missed(
    kind: str, first: dt.datetime, now: dt.datetime, *, expr: str | None, every: int | None, tz: str
) -> tuple[list[dt.datetime], dt.datetime | None]:
    """The firings from ``first`` (due) up to ``now``, oldest first and at most ``MAX_CATCH_UP`` (the latest ones),
    and the next firing after ``now`` (None for a one-shot ``at``)."""
    if kind == AT:
        return [first], None
    if kind == EVERY:
        assert every is not None
        periods = int((now - first).total_seconds() // every)
        start = max(0, periods - MAX_CATCH_UP + 1)
        times = [first + dt.timedelta(seconds=every * n) for n in range(start, periods + 1)]
        return times, first + dt.timedelta(seconds=every * (periods + 1))
    times = [first]
    while True:
        following = next_after(kind, times[-1], expr=expr, every=every, tz=tz)
        if following > now:
            return times[-MAX_CATCH_UP:], following
        times.append(following)
        if len(times) > 2 * MAX_CATCH_UP:  # a long outage on a frequent cron: jump to the latest firing
            latest = croniter(expr, (now + _TINY).astimezone(zone(tz))).get_prev(dt.datetime).astimezone(dt.UTC)
            times = [latest]


def to_fire(policy: str, times: list[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
    """Which of the missed ``times`` become runs under the job's misfire policy."""
    if policy == FIRE_ALL:
        return times
    latest = times[-1:]
    if policy == SKIP_IF_LATE and latest and now - latest[0] > LATE_AFTER:
        return []
    return latest
