"""Results: one task on one host."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session, defer

from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field
from ara.records.filters import Filter
from ara.records.resources.base import Resource, date_filters, orderings, simple_playbooks
from ara.records.resources.plays import Plays, Tasks
from ara.records.service import (
    counts_by,
)
from ara.records.status import ResultStatus


class Results(Resource):
    name = "results"
    model = m.Result
    fields = {
        "status": Field("choice", choices=tuple(ResultStatus), default="unknown"),
        "changed": Field("bool", default=False),
        "ignore_errors": Field("bool", default=False),
        "content": Field("json", default=dict),
        "host": Field("fk", required=True),
        "delegated_to": Field("fk_list"),
        "task": Field("fk", required=True),
        "play": Field("fk", required=True),
        "playbook": Field("fk", required=True),
        "started": Field("datetime"),
        "ended": Field("datetime", nullable=True),
    }
    filters = {
        **date_filters(m.Result, timed=True),
        "playbook": Filter("number", lambda: m.Result.playbook_id),
        "task": Filter("number", lambda: m.Result.task_id),
        "task_name": Filter("icontains", lambda: m.Task.name, via=lambda: (m.Result.task_id, select(m.Task.id))),
        "play": Filter("number", lambda: m.Result.play_id),
        "host": Filter("number", lambda: m.Result.host_id),
        "host_name": Filter("iexact", lambda: m.Host.name, via=lambda: (m.Result.host_id, select(m.Host.id))),
        "delegated_to": Filter(
            "number",
            lambda: m.results_delegated_to.c.host_id,
            via=lambda: (m.Result.id, select(m.results_delegated_to.c.result_id)),
        ),
        "changed": Filter("bool", lambda: m.Result.changed),
        "status": Filter("choice", lambda: m.Result.status, choices=tuple(ResultStatus)),
        "ignore_errors": Filter("bool", lambda: m.Result.ignore_errors),
    }
    orders = orderings(m.Result, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Result.id.desc()])

    @staticmethod
    def failed_first() -> list[Any]:
        """An order for ``list``: failures and unreachable hosts that were not ignored first, then newest first."""
        failing = m.Result.status.in_((ResultStatus.FAILED, ResultStatus.UNREACHABLE)) & m.Result.ignore_errors.is_(
            False
        )
        return [case((failing, 0), else_=1), m.Result.id.desc()]

    def list_options(self) -> list[Any]:
        return [defer(m.Result.content)]  # lists leave content out: neither read nor decompressed

    @staticmethod
    def delegations(session: Session, ids: list[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        if ids:
            table = m.results_delegated_to
            rows = session.execute(
                select(table.c.result_id, table.c.host_id).where(table.c.result_id.in_(ids)).order_by(table.c.host_id)
            )
            for result_id, host_id in rows:
                out.setdefault(result_id, []).append(host_id)
        return out

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        delegated = self.delegations(session, [o.id for o in objects])
        return [
            rep.result(o, delegated_to=delegated.get(o.id, []), content=False, computed_status=True) for o in objects
        ]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        play = session.get(m.Play, obj.play_id)
        task = session.get(m.Task, obj.task_id)
        host = session.get(m.Host, obj.host_id)
        task_path = Tasks.paths(session, [task]).get(task.file_id) if task else None
        return rep.result(
            obj,
            delegated_to=[rep.host(h, facts=False, simple=True) for h in obj.delegated_to],
            content=True,
            computed_status=True,
            playbook_value=simple_playbooks(session, [obj.playbook_id])[obj.playbook_id],
            play_value=rep.play(play, items=Plays.items(session, [play.id])[play.id], simple=True) if play else None,
            task_value=rep.task(
                task,
                path=task_path,
                items={"results": counts_by(session, m.Result.task_id, [task.id]).get(task.id, 0)},
                simple=True,
            )
            if task
            else None,
            host_value=rep.host(host, facts=False, simple=True) if host else None,
        )

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.result(obj, delegated_to=[h.id for h in obj.delegated_to], content=True, computed_status=False)
