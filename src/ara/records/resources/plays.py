"""Plays and tasks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field
from ara.records.filters import Filter
from ara.records.resources.base import Resource, date_filters, orderings, playbook_filter, simple_playbooks
from ara.records.service import (
    counts_by,
)
from ara.records.status import PlayStatus, TaskStatus


class Plays(Resource):
    name = "plays"
    model = m.Play
    fields = {
        "name": Field("str", nullable=True, max_length=255),
        "uuid": Field("str", required=True, blank=False, max_length=36),
        "status": Field("choice", choices=tuple(PlayStatus), default="unknown"),
        "playbook": Field("fk", required=True),
        "started": Field("datetime"),
        "ended": Field("datetime", nullable=True),
    }
    filters = {
        **date_filters(m.Play, timed=True),
        "playbook": Filter("number", lambda: m.Play.playbook_id),
        "uuid": Filter("uuid", lambda: m.Play.uuid),
        "status": Filter("choice", lambda: m.Play.status, choices=tuple(PlayStatus)),
        "name": Filter("icontains", lambda: m.Play.name),
    }
    orders = orderings(m.Play, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Play.id.desc()])

    @staticmethod
    def items(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
        tasks = counts_by(session, m.Task.play_id, ids)
        results = counts_by(session, m.Result.play_id, ids)
        return {i: {"tasks": tasks.get(i, 0), "results": results.get(i, 0)} for i in ids}

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        items = self.items(session, [o.id for o in objects])
        return [rep.play(o, items=items[o.id]) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        playbook = simple_playbooks(session, [obj.playbook_id])[obj.playbook_id]
        return rep.play(obj, items=self.items(session, [obj.id])[obj.id], playbook_value=playbook)

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.play(obj)


class Tasks(Resource):
    name = "tasks"
    model = m.Task
    fields = {
        "name": Field("text", nullable=True),
        "uuid": Field("str", nullable=True, max_length=36),
        "action": Field("text", required=True, blank=False),
        "lineno": Field("int", required=True),
        "tags": Field("json", default=list),
        "handler": Field("bool", required=True),
        "status": Field("choice", choices=tuple(TaskStatus), default="unknown"),
        "warnings": Field("json", default=list),
        "deprecations": Field("json", default=list),
        "exceptions": Field("json", default=list),
        "play": Field("fk", required=True),
        "file": Field("fk", required=True),
        "playbook": Field("fk", required=True),
        "started": Field("datetime"),
        "ended": Field("datetime", nullable=True),
    }
    filters = {
        **date_filters(m.Task, timed=True),
        "playbook": Filter("number", lambda: m.Task.playbook_id),
        "playbook_name": playbook_filter(m.Task, "name"),
        "playbook_path": playbook_filter(m.Task, "path"),
        "play": Filter("number", lambda: m.Task.play_id),
        "status": Filter("choice", lambda: m.Task.status, choices=tuple(TaskStatus)),
        "name": Filter("icontains", lambda: m.Task.name),
        "uuid": Filter("uuid", lambda: m.Task.uuid),
        "action": Filter("iexact", lambda: m.Task.action),
        "path": Filter("icontains", lambda: m.File.path, via=lambda: (m.Task.file_id, select(m.File.id))),
        "lineno": Filter("exact", lambda: m.Task.lineno),
        "handler": Filter("bool", lambda: m.Task.handler),
        **{
            f"{kind}_count__{op}": Filter(f"json_len_{op}", lambda k=kind: getattr(m.Task, k))
            for kind in ("exceptions", "deprecations", "warnings")
            for op in ("gt", "lt")
        },
    }
    orders = orderings(m.Task, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Task.id.desc()])

    @staticmethod
    def paths(session: Session, objects: list[m.Task]) -> dict[int, str]:
        ids = list({o.file_id for o in objects})
        if not ids:
            return {}
        return {
            file_id: path for file_id, path in session.execute(select(m.File.id, m.File.path).where(m.File.id.in_(ids)))
        }

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        counts = counts_by(session, m.Result.task_id, [o.id for o in objects])
        paths = self.paths(session, objects)
        return [rep.task(o, path=paths.get(o.file_id), items={"results": counts.get(o.id, 0)}) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        file = session.get(m.File, obj.file_id)
        play = session.get(m.Play, obj.play_id)
        counts = counts_by(session, m.Result.task_id, [obj.id])
        return rep.task(
            obj,
            path=file.path if file else None,
            items={"results": counts.get(obj.id, 0)},
            playbook_value=simple_playbooks(session, [obj.playbook_id])[obj.playbook_id],
            play_value=rep.play(play, items=Plays.items(session, [play.id])[play.id], simple=True) if play else None,
            file_value=rep.file(file, content=False, simple=True) if file else None,
        )

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.task(obj)
