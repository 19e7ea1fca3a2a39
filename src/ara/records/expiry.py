"""Playbooks left ``running`` by a callback that died: after a silence they are marked ``expired`` (ARA's
``expire``: the playbook and its running plays and tasks). Silence is read from what was recorded last (the
newest result and task, the playbook's own ``updated``), so recording costs no extra write per result; the
sweep reads only playbooks still ``running`` and untouched for the whole silence. A late
replay still lands: its final PATCH moves the playbook from ``expired`` to ``completed`` or ``failed``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records.status import PlaybookStatus, PlayStatus, TaskStatus


def last_activity(session: Session, playbook: m.Playbook) -> dt.datetime:
    """When anything of this playbook was last recorded: its own ``updated``, its plays' and tasks' (a few rows
    each), and the start of its newest result (read from the ``(playbook_id, started)`` index, never a scan of
    the results table)."""
    times = [playbook.updated]
    for column, owner in ((m.Play.updated, m.Play), (m.Task.updated, m.Task), (m.Result.started, m.Result)):
        newest = session.scalar(select(func.max(column)).where(owner.playbook_id == playbook.id))
        if newest is not None:
            times.append(newest)
    return max(times)


def expire_silent_playbooks(session: Session, *, now: dt.datetime, silence: float) -> list[int]:
    """Mark ``expired`` the running playbooks silent for ``silence`` seconds; their ids."""
    if silence <= 0:
        return []
    cutoff = now - dt.timedelta(seconds=silence)
    # A playbook updated since the cutoff is not silent: skip it without looking at its children.
    candidates = session.scalars(
        select(m.Playbook).where(m.Playbook.status == PlaybookStatus.RUNNING, m.Playbook.updated < cutoff)
    )
    expired = [playbook for playbook in candidates if last_activity(session, playbook) < cutoff]
    ids = [playbook.id for playbook in expired]
    if not ids:
        return []
    for playbook in expired:
        playbook.status = PlaybookStatus.EXPIRED
    session.execute(
        update(m.Play)
        .where(m.Play.playbook_id.in_(ids), m.Play.status == PlayStatus.RUNNING)
        .values(status=PlayStatus.EXPIRED)
    )
    session.execute(
        update(m.Task)
        .where(m.Task.playbook_id.in_(ids), m.Task.status == TaskStatus.RUNNING)
        .values(status=TaskStatus.EXPIRED)
    )
    return ids
