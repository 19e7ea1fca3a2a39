"""Labels and playbooks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field
from ara.records.filters import Filter
from ara.records.nested import playbook_tree
from ara.records.resources.base import Resource, date_filters, orderings, playbook_items
from ara.records.service import (
    apply,
    delete_playbook,
    labels_by_name,
    link_labels,
    server_version,
)
from ara.records.status import PlaybookStatus


class Labels(Resource):
    name = "labels"
    model = m.Label
    fields = {"name": Field("str", required=True, blank=False, max_length=255)}
    filters = date_filters(m.Label, timed=False)
    orders = orderings(m.Label)
    default_order = staticmethod(lambda: [m.Label.id.asc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [rep.label(obj) for obj in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.label(obj)

    written = detail

    def unique_error(self) -> ValidationFailed | None:
        return ValidationFailed({"name": ["label with this name already exists."]})

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        name = values.get("name")
        if name is not None:
            clash = session.scalar(select(m.Label.id).where(m.Label.name == name, m.Label.id != obj.id))
            if clash is not None:
                raise ValidationFailed({"name": ["label with this name already exists."]})
        apply(obj, values)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        obj = m.Label()
        self.change(session, obj, values)
        session.add(obj)
        return obj


class Playbooks(Resource):
    name = "playbooks"
    model = m.Playbook
    fields = {
        "name": Field("str", nullable=True, max_length=255),
        "ansible_version": Field("str", required=True, blank=False, max_length=255),
        "client_version": Field("str", nullable=True, max_length=255),
        "python_version": Field("str", nullable=True, max_length=255),
        "server_version": Field("str", max_length=255),
        "status": Field("choice", choices=tuple(PlaybookStatus), default="unknown"),
        "arguments": Field("json", default=dict),
        "path": Field("str", required=True, blank=False, max_length=255),
        "labels": Field("labels"),
        "controller": Field("str", nullable=True, max_length=255),
        "user": Field("str", nullable=True, max_length=255),
        "started": Field("datetime"),
        "ended": Field("datetime", nullable=True),
    }
    filters = {
        **date_filters(m.Playbook, timed=True),
        **{
            name: Filter("icontains", lambda n=name: getattr(m.Playbook, n))
            for name in ("ansible_version", "client_version", "server_version", "python_version", "user")
        },
        "controller": Filter("icontains", lambda: m.Playbook.controller),
        "name": Filter("icontains", lambda: m.Playbook.name),
        "path": Filter("icontains", lambda: m.Playbook.path),
        "status": Filter("choice", lambda: m.Playbook.status, choices=tuple(PlaybookStatus)),
        "label": Filter(
            "iexact",
            lambda: m.Label.name,
            via=lambda: (
                m.Playbook.id,
                select(m.playbooks_labels.c.playbook_id).join(m.Label, m.Label.id == m.playbooks_labels.c.label_id),
            ),
        ),
    }
    orders = orderings(m.Playbook, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Playbook.id.desc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        ids = [obj.id for obj in objects]
        items = playbook_items(session, ids)
        _load_labels(session, objects)
        return [rep.playbook(obj, items=items[obj.id]) for obj in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        data = rep.playbook(obj, items=playbook_items(session, [obj.id])[obj.id])
        data["plays"] = playbook_tree(session, obj.id)
        return data

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.playbook(obj)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        values.setdefault("server_version", server_version())
        labels = values.pop("labels", None)
        obj = m.Playbook(labels=labels_by_name(session, labels or []))
        apply(obj, values)
        session.add(obj)
        return obj

    def insert_row(self, session: Session, values: dict[str, Any]) -> int:
        values.setdefault("server_version", server_version())
        labels = values.pop("labels", None) or []
        playbook_id = super().insert_row(session, values)
        link_labels(session, playbook_id, labels)
        return playbook_id

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        if "labels" in values:
            obj.labels = labels_by_name(session, values.pop("labels") or [])
        apply(obj, values)

    def destroy(self, session: Session, key: str) -> None:
        delete_playbook(session, self.lookup(session, key))


def _load_labels(session: Session, playbooks: list[m.Playbook]) -> None:
    """Load the labels of many playbooks in one query (instead of one per playbook)."""
    if playbooks:
        session.scalars(
            select(m.Playbook)
            .where(m.Playbook.id.in_([p.id for p in playbooks]))
            .options(selectinload(m.Playbook.labels))
        ).all()
