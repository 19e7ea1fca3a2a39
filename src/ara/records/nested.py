"""The detailed playbook's ``plays -> tasks -> results`` tree, in three queries whatever the playbook's size.

ARA 1.4 nested these with serializers that issued queries per object, which is why 1.5 dropped them;
here each level is one SELECT of plain columns, stitched together in Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records.representation import duration_string, iso
from ara.records.status import shown_status


def playbook_tree(session: Session, playbook_id: int) -> list[dict[str, Any]]:
    plays: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(m.Play.id, m.Play.name, m.Play.uuid, m.Play.status, m.Play.started, m.Play.ended, m.Play.duration)
        .where(m.Play.playbook_id == playbook_id)
        .order_by(m.Play.id)
    ):
        plays[row.id] = {
            "id": row.id,
            "name": row.name,
            "uuid": row.uuid,
            "status": row.status,
            "started": iso(row.started),
            "ended": iso(row.ended),
            "duration": duration_string(row.duration),
            "tasks": [],
        }

    tasks: dict[int, dict[str, Any]] = {}
    for row in session.execute(
        select(
            m.Task.id,
            m.Task.play_id,
            m.Task.name,
            m.Task.uuid,
            m.Task.action,
            m.Task.lineno,
            m.Task.status,
            m.Task.handler,
            m.Task.started,
            m.Task.ended,
            m.Task.duration,
            m.File.id.label("file_id"),
            m.File.path,
        )
        .join(m.File, m.File.id == m.Task.file_id)
        .where(m.Task.playbook_id == playbook_id)
        .order_by(m.Task.id)
    ):
        task = {
            "id": row.id,
            "name": row.name,
            "uuid": row.uuid,
            "action": row.action,
            "lineno": row.lineno,
            "status": row.status,
            "handler": row.handler,
            "started": iso(row.started),
            "ended": iso(row.ended),
            "duration": duration_string(row.duration),
            "file": {"id": row.file_id, "path": row.path},
            "results": [],
        }
        tasks[row.id] = task
        play = plays.get(row.play_id)
        if play is not None:
            play["tasks"].append(task)

    for row in session.execute(
        select(
            m.Result.id,
            m.Result.task_id,
            m.Result.status,
            m.Result.changed,
            m.Result.ignore_errors,
            m.Result.started,
            m.Result.ended,
            m.Result.duration,
            m.Host.id.label("host_id"),
            m.Host.name.label("host_name"),
        )
        .join(m.Host, m.Host.id == m.Result.host_id)
        .where(m.Result.playbook_id == playbook_id)
        .order_by(m.Result.id)
    ):
        owner = tasks.get(row.task_id)
        if owner is None:
            continue
        owner["results"].append(
            {
                "id": row.id,
                "status": shown_status(row.status, row.changed, row.ignore_errors),
                "started": iso(row.started),
                "ended": iso(row.ended),
                "duration": duration_string(row.duration),
                "changed": row.changed,
                "ignore_errors": row.ignore_errors,
                "host": {"id": row.host_id, "name": row.host_name},
            }
        )
    return list(plays.values())
