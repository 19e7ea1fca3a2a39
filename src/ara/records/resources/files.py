"""Files (content shared by sha1) and key/value records."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field
from ara.records.filters import Filter
from ara.records.resources.base import PayloadResource, date_filters, orderings
from ara.records.service import (
    apply,
    file_content,
    get_or_create,
    unique_violation,
)


class Files(PayloadResource):
    shape = staticmethod(rep.file)
    payload = "content"
    name = "files"
    model = m.File
    fields = {
        "path": Field("str", required=True, blank=False, max_length=255),
        "content": Field("text", required=True),
        "playbook": Field("fk", required=True),
    }
    filters = {
        **date_filters(m.File, timed=False),
        "playbook": Filter("number", lambda: m.File.playbook_id),
        "path": Filter("icontains", lambda: m.File.path),
    }
    orders = orderings(m.File, "path")
    default_order = staticmethod(lambda: [m.File.id.asc()])
    unique_together = "path, playbook"

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        """Get or create by (path, playbook); contents are shared between files by sha1."""
        content = file_content(session, values.pop("content"))
        obj = get_or_create(session, m.File, {**values, "content_id": content.id}, key=("path", "playbook_id"))
        if obj.content_id != content.id:
            obj.content = content
        return obj

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        if "content" in values:
            obj.content = file_content(session, values.pop("content"))
        apply(obj, values)


class Records(PayloadResource):
    shape = staticmethod(rep.record)
    payload = "value"
    name = "records"
    model = m.Record
    fields = {
        "key": Field("str", required=True, blank=False, max_length=255),
        "value": Field("json", default=""),
        "type": Field("str", required=True, blank=False, max_length=255),
        "playbook": Field("fk", required=True),
    }
    filters = {
        **date_filters(m.Record, timed=False),
        "playbook": Filter("number", lambda: m.Record.playbook_id),
        "key": Filter("exact", lambda: m.Record.key),
    }
    orders = orderings(m.Record, "key")
    default_order = staticmethod(lambda: [m.Record.id.asc()])
    unique_together = "key, playbook"

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        key = values.get("key", obj.key)
        playbook_id = values.get("playbook_id", obj.playbook_id)
        clash = (
            session.scalar(
                select(m.Record.id).where(
                    m.Record.key == key, m.Record.playbook_id == playbook_id, m.Record.id != obj.id
                )
            )
            if key is not None and playbook_id is not None
            else None
        )
        if clash is not None:
            raise unique_violation("key, playbook")
        apply(obj, values)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        obj = m.Record()
        self.change(session, obj, values)
        session.add(obj)
        return obj
