"""Schedules: cron expressions and ``@every <duration>``, and when each fires next."""

from __future__ import annotations

import datetime as dt

from croniter import CroniterError, croniter

from ara.playbooks.durations import parse_duration


def validate_schedule(expression: str, *, must_fire: bool = True) -> None:
    """A ``ValueError`` naming what is wrong; with ``must_fire``, also for a cron that can never fire
    (``0 0 30 2 *``), which would otherwise fail every time the scheduler asks when it fires."""
    if expression.startswith("@every"):
        seconds = parse_duration(expression.removeprefix("@every").strip())
        if seconds <= 0:
            raise ValueError("@every needs a positive duration")
        return
    if not croniter.is_valid(expression):
        raise ValueError(f"invalid cron expression {expression!r}")
    if must_fire:
        try:
            croniter(expression, dt.datetime.now(dt.UTC)).get_next(dt.datetime)
        except CroniterError:
            raise ValueError(f"cron expression {expression!r} never fires (no such date)") from None


def next_fire(expression: str, after: dt.datetime) -> dt.datetime:
    """The first firing time strictly after ``after`` (aware UTC in, aware UTC out)."""
    if expression.startswith("@every"):
        return after + dt.timedelta(seconds=parse_duration(expression.removeprefix("@every").strip()))
    return croniter(expression, after).get_next(dt.datetime)
