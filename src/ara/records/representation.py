"""Wire shapes of recorded objects, field for field as ARA 1.8's serializers render them.

Each model has up to five shapes: ``write`` (what create/update answer), ``list``, ``detail``, ``simple``
(nested inside another object). Counts (``items``) and labels come in precomputed, so a list of N objects
costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from ara.db.types import iso
from ara.records import models as m
from ara.records.status import shown_status


def duration_string(seconds: float | None) -> str | None:
    """DRF's DurationField rendering: ``[D ]HH:MM:SS[.ffffff]``."""
    if seconds is None:
        return None
    delta = dt.timedelta(seconds=seconds)
    days, remainder = delta.days, delta.seconds
    hours, remainder = divmod(remainder, 3600)
    minutes, secs = divmod(remainder, 60)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if days:
        text = f"{days} {text}"
    if delta.microseconds:
        text += f".{delta.microseconds:06d}"
    return text


def _base(obj: Any) -> dict[str, Any]:
    return {"id": obj.id, "created": iso(obj.created), "updated": iso(obj.updated)}


def _timing(obj: Any) -> dict[str, Any]:
    return {"started": iso(obj.started), "ended": iso(obj.ended), "duration": duration_string(obj.duration)}


def label(obj: m.Label) -> dict[str, Any]:
    return {**_base(obj), "name": obj.name}


def simple_label(obj: m.Label) -> dict[str, Any]:
    return {"id": obj.id, "name": obj.name}


def playbook(obj: m.Playbook, *, items: dict[str, int] | None = None, timestamps: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = _base(obj) if timestamps else {"id": obj.id}
    if items is not None:
        data["items"] = items
    data.update(_timing(obj))
    data.update(
        name=obj.name,
        ansible_version=obj.ansible_version,
        client_version=obj.client_version,
        python_version=obj.python_version,
        server_version=obj.server_version,
        status=obj.status,
        arguments=obj.arguments if obj.arguments is not None else {},
        path=obj.path,
        labels=[simple_label(label_) for label_ in obj.labels],
        controller=obj.controller,
        user=obj.user,
    )
    return data


def play(
    obj: m.Play, *, items: dict[str, int] | None = None, playbook_value: Any = None, simple: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.id} if simple else _base(obj)
    if items is not None:
        data["items"] = items
    data.update(_timing(obj))
    data["name"] = obj.name
    if not simple:
        data["uuid"] = obj.uuid
    data["status"] = obj.status
    if not simple:
        data["playbook"] = playbook_value if playbook_value is not None else obj.playbook_id
    return data


def task(
    obj: m.Task,
    *,
    path: str | None = None,
    items: dict[str, int] | None = None,
    playbook_value: Any = None,
    play_value: Any = None,
    file_value: Any = None,
    simple: bool = False,
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.id} if simple else _base(obj)
    if items is not None:
        data["items"] = items
    if path is not None:
        data["path"] = path
    data.update(_timing(obj))
    data.update(
        name=obj.name,
        uuid=obj.uuid,
        action=obj.action,
        lineno=obj.lineno,
        tags=obj.tags if obj.tags is not None else [],
        handler=obj.handler,
        status=obj.status,
        warnings=obj.warnings or [],
        deprecations=obj.deprecations or [],
        exceptions=obj.exceptions or [],
    )
    if not simple:
        data["play"] = play_value if play_value is not None else obj.play_id
    data["file"] = file_value if file_value is not None else obj.file_id
    if not simple:
        data["playbook"] = playbook_value if playbook_value is not None else obj.playbook_id
    return data


def host(obj: m.Host, *, facts: bool, playbook_value: Any = None, simple: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.id} if simple else _base(obj)
    data["name"] = obj.name
    if facts:
        data["facts"] = obj.facts if obj.facts is not None else {}
    data.update(changed=obj.changed, failed=obj.failed, ok=obj.ok, skipped=obj.skipped, unreachable=obj.unreachable)
    if not simple:
        data["playbook"] = playbook_value if playbook_value is not None else obj.playbook_id
    return data


def result(
    obj: m.Result,
    *,
    delegated_to: list[Any],
    content: bool,
    computed_status: bool,
    playbook_value: Any = None,
    play_value: Any = None,
    task_value: Any = None,
    host_value: Any = None,
) -> dict[str, Any]:
    data = _base(obj)
    data.update(_timing(obj))
    data["status"] = shown_status(obj.status, obj.changed, obj.ignore_errors) if computed_status else obj.status
    data["changed"] = obj.changed
    data["ignore_errors"] = obj.ignore_errors
    if content:
        data["content"] = obj.content if obj.content is not None else {}
    data.update(
        host=host_value if host_value is not None else obj.host_id,
        task=task_value if task_value is not None else obj.task_id,
        play=play_value if play_value is not None else obj.play_id,
        playbook=playbook_value if playbook_value is not None else obj.playbook_id,
        delegated_to=delegated_to,
    )
    return data


def file_content_text(content: m.FileContent) -> str:
    return zlib.decompress(content.contents).decode("utf-8")


def file(obj: m.File, *, content: bool, playbook_value: Any = None, simple: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"id": obj.id} if simple else _base(obj)
    data["sha1"] = obj.content.sha1
    data["path"] = obj.path
    if content:
        data["content"] = file_content_text(obj.content)
    if not simple:
        data["playbook"] = playbook_value if playbook_value is not None else obj.playbook_id
    return data


def record(obj: m.Record, *, value: bool, playbook_value: Any = None) -> dict[str, Any]:
    data = _base(obj)
    data["key"] = obj.key
    if value:
        data["value"] = obj.value
    data["type"] = obj.type
    data["playbook"] = playbook_value if playbook_value is not None else obj.playbook_id
    return data
