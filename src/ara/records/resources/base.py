"""Resource base class and helpers shared by every records resource."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ara.db.statements import insert_into
from ara.db.types import utcnow
from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field, clean
from ara.records.filters import Filter, Params
from ara.records.service import (
    apply,
    counts_by,
    explained_integrity_errors,
    get_or_404,
    list_page,
    parse_id,
    to_columns,
    unique_violation,
)


def date_filters(model: Any, *, timed: bool) -> dict[str, Filter]:
    names = ["created", "updated"] + (["started", "ended"] if timed else [])
    out: dict[str, Filter] = {}
    for name in names:
        out[f"{name}_before"] = Filter("lte", lambda n=name: getattr(model, n))
        out[f"{name}_after"] = Filter("gte", lambda n=name: getattr(model, n))
    return out


def orderings(model: Any, *names: str) -> dict[str, Callable[[], Any]]:
    return {name: (lambda n=name: getattr(model, n)) for name in ("id", "created", "updated", *names)}


def playbook_filter(model: Any, column: str, kind: str = "icontains") -> Filter:
    return Filter(kind, lambda: getattr(m.Playbook, column), via=lambda: (model.playbook_id, select(m.Playbook.id)))


class Resource:
    name: ClassVar[str]
    model: ClassVar[type[Any]]
    fields: ClassVar[Mapping[str, Field]] = {}
    filters: ClassVar[Mapping[str, Filter]] = {}
    orders: ClassVar[Mapping[str, Callable[[], Any]]] = {}
    default_order: ClassVar[Callable[[], list[Any]]]
    read_only: ClassVar[bool] = False
    # The fields of the resource's unique constraint, as DRF names them in its message ("key, playbook").
    unique_together: ClassVar[str] = ""

    # -- shapes ---------------------------------------------------------------------------------------------
    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def unique_error(self) -> ValidationFailed | None:
        """The 400 for a unique violation at flush (two requests racing for the same key)."""
        return unique_violation(self.unique_together) if self.unique_together else None

    # -- operations -----------------------------------------------------------------------------------------
    def lookup(self, session: Session, key: str) -> Any:
        return get_or_404(session, self.model, parse_id(key))

    def list(
        self, session: Session, params: Params, page_size: int, *, default_order: list[Any] | None = None
    ) -> tuple[int, list[dict[str, Any]], int, int]:
        """``default_order``: the order when ``params`` name none (the UI's "failed first")."""
        count, objects, limit, offset = list_page(
            session,
            self.model,
            filters=self.filters,
            orders=self.orders,
            default_order=self.default_order() if default_order is None else default_order,
            params=params,
            page_size=page_size,
            options=self.list_options(),
        )
        return count, self.list_items(session, objects), limit, offset

    def list_options(self) -> list[Any]:
        """Loader options for list pages (a list shape that leaves a large column out need not load it)."""
        return []

    def retrieve(self, session: Session, key: str) -> dict[str, Any]:
        return self.detail(session, self.lookup(session, key))

    def create(self, session: Session, body: Any) -> dict[str, Any]:
        return self.written(session, self.add(session, body))

    def add(self, session: Session, body: Any) -> Any:
        """Validate and insert (flushed: the row has its id) without building an answer: for Ara's own writers,
        which record runs and need only the row."""
        values = clean(self.fields, body, partial=False)
        with explained_integrity_errors(session, self.fields, values, self.unique_error()):
            return self.new(session, to_columns(session, self.fields, values))

    def insert(self, session: Session, body: Any) -> int:
        """``add`` for Ara's own writers that need only the new row's id: the same validation, defaults, ``started``
        and ``duration``, written by one Core INSERT without an ORM object or a flush (through the ORM, recording a
        playbook run cost a third of the run's engine time). Nothing is explained: a violation here is a bug."""
        return self.insert_row(session, to_columns(session, self.fields, clean(self.fields, body, partial=False)))

    def insert_row(self, session: Session, values: dict[str, Any]) -> int:
        if issubclass(self.model, m.Timed):
            timed(values)
        # The values go as parameters, not into the statement: one compiled INSERT per set of columns, cached. On
        # the session's connection: no autoflush, so pending ORM changes go in one UPDATE at the next flush.
        statement = insert_into(self.model.__table__)
        return int(session.connection().execute(statement, values).inserted_primary_key[0])

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        obj = self.model()
        apply(obj, values)
        session.add(obj)
        return obj

    def update(self, session: Session, key: str, body: Any, *, partial: bool) -> dict[str, Any]:
        return self.written(session, self.amend(session, self.lookup(session, key), body, partial=partial))

    def amend(self, session: Session, obj: Any, body: Any, *, partial: bool = True) -> Any:
        """Validate and apply a change to ``obj`` (flushed) without building an answer."""
        values = clean(self.fields, body, partial=partial)
        with explained_integrity_errors(session, self.fields, values, self.unique_error()):
            self.change(session, obj, to_columns(session, self.fields, values))
        return obj

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        apply(obj, values)

    def destroy(self, session: Session, key: str) -> None:
        session.delete(self.lookup(session, key))


def timed(values: dict[str, Any]) -> None:
    """What ``apply`` does to a ``Timed`` row, on a dict of its columns: ``started`` now unless given, and the
    ``duration`` ``compute_duration`` gives."""
    if values.get("started") is None:
        values["started"] = utcnow()
    ended = values.get("ended")
    values["duration"] = (ended - values["started"]).total_seconds() if ended else None


def playbook_items(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    counted = {
        "plays": counts_by(session, m.Play.playbook_id, ids),
        "tasks": counts_by(session, m.Task.playbook_id, ids),
        "results": result_counts(session, ids),
        "hosts": counts_by(session, m.Host.playbook_id, ids),
        "files": counts_by(session, m.File.playbook_id, ids),
        "records": counts_by(session, m.Record.playbook_id, ids),
    }
    return {pid: {kind: counts.get(pid, 0) for kind, counts in counted.items()} for pid in ids}


def result_counts(session: Session, ids: list[int]) -> dict[int, int]:
    """Results per playbook from the counter the database keeps (counting them costs a scan of every result)."""
    if not ids:
        return {}
    return dict(session.execute(select(m.Playbook.id, m.Playbook.result_count).where(m.Playbook.id.in_(ids))).all())


def simple_playbooks(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The nested playbook shape (no timestamps) of several playbooks in a fixed number of queries."""
    objs = session.scalars(select(m.Playbook).where(m.Playbook.id.in_(ids)).options(selectinload(m.Playbook.labels)))
    items = playbook_items(session, list(set(ids)))
    return {pb.id: rep.playbook(pb, items=items[pb.id], timestamps=False) for pb in objs}


class PayloadResource(Resource):
    """A resource whose list shape leaves out one large field (file content, host facts, record value) and whose
    detail nests its playbook; ``shape`` renders it, ``payload`` names the keyword that includes the field."""

    shape: ClassVar[Callable[..., dict[str, Any]]]
    payload: ClassVar[str]

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [self.shape(o, **{self.payload: False}) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        playbook = simple_playbooks(session, [obj.playbook_id])[obj.playbook_id]
        return self.shape(obj, **{self.payload: True}, playbook_value=playbook)

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return self.shape(obj, **{self.payload: True})
