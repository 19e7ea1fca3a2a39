"""Every records resource described once: writable fields, filters, orderings and wire shapes.

The server exposes each ``Resource`` under ``/api/v1/<name>`` with list, create, retrieve, update,
partial update and delete, as ARA's Django REST framework viewsets do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ara.errors import ValidationFailed
from ara.records import models as m
from ara.records import representation as rep
from ara.records.fields import Field, clean
from ara.records.filters import Filter, Params
from ara.records.nested import playbook_tree
from ara.records.service import (
    apply,
    counts_by,
    delete_playbook,
    explained_integrity_errors,
    file_content,
    get_or_404,
    labels_by_name,
    list_page,
    parse_id,
    repoint_latest_hosts,
    server_version,
    to_columns,
    unique_violation,
    upsert_latest_host,
)
from ara.records.status import PlaybookStatus, PlayStatus, ResultStatus, TaskStatus


def _dates(model: Any, *, timed: bool) -> dict[str, Filter]:
    names = ["created", "updated"] + (["started", "ended"] if timed else [])
    out: dict[str, Filter] = {}
    for name in names:
        out[f"{name}_before"] = Filter("lte", lambda n=name: getattr(model, n))
        out[f"{name}_after"] = Filter("gte", lambda n=name: getattr(model, n))
    return out


def _orders(model: Any, *names: str) -> dict[str, Callable[[], Any]]:
    return {name: (lambda n=name: getattr(model, n)) for name in ("id", "created", "updated", *names)}


def _by_playbook(model: Any, column: str, kind: str = "icontains") -> Filter:
    return Filter(kind, lambda: getattr(m.Playbook, column), via=lambda: (model.playbook_id, select(m.Playbook.id)))


class Resource:
    name: ClassVar[str]
    model: ClassVar[type[Any]]
    fields: ClassVar[Mapping[str, Field]] = {}
    filters: ClassVar[Mapping[str, Filter]] = {}
    orders: ClassVar[Mapping[str, Callable[[], Any]]] = {}
    default_order: ClassVar[Callable[[], list[Any]]]
    read_only: ClassVar[bool] = False

    # -- shapes ---------------------------------------------------------------------------------------------
    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    # -- operations -----------------------------------------------------------------------------------------
    def lookup(self, session: Session, key: str) -> Any:
        return get_or_404(session, self.model, parse_id(key))

    def list(self, session: Session, params: Params, page_size: int) -> tuple[int, list[dict[str, Any]], int, int]:
        count, objects, limit, offset = list_page(
            session,
            self.model,
            filters=self.filters,
            orders=self.orders,
            default_order=self.default_order(),
            params=params,
            page_size=page_size,
        )
        return count, self.list_items(session, objects), limit, offset

    def retrieve(self, session: Session, key: str) -> dict[str, Any]:
        return self.detail(session, self.lookup(session, key))

    def create(self, session: Session, body: Any) -> dict[str, Any]:
        values = clean(self.fields, body, partial=False)
        with explained_integrity_errors(session, self.fields, values):
            obj = self.new(session, to_columns(session, self.fields, values))
        return self.written(session, obj)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        obj = self.model()
        apply(obj, values)
        session.add(obj)
        return obj

    def update(self, session: Session, key: str, body: Any, *, partial: bool) -> dict[str, Any]:
        obj = self.lookup(session, key)
        values = clean(self.fields, body, partial=partial)
        with explained_integrity_errors(session, self.fields, values):
            self.change(session, obj, to_columns(session, self.fields, values))
        return self.written(session, obj)

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        apply(obj, values)

    def destroy(self, session: Session, key: str) -> None:
        session.delete(self.lookup(session, key))


def _playbook_items(session: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    counted = {
        "plays": counts_by(session, m.Play.playbook_id, ids),
        "tasks": counts_by(session, m.Task.playbook_id, ids),
        "results": counts_by(session, m.Result.playbook_id, ids),
        "hosts": counts_by(session, m.Host.playbook_id, ids),
        "files": counts_by(session, m.File.playbook_id, ids),
        "records": counts_by(session, m.Record.playbook_id, ids),
    }
    return {pid: {kind: counts.get(pid, 0) for kind, counts in counted.items()} for pid in ids}


def simple_playbooks(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The nested playbook shape (no timestamps) of several playbooks in a fixed number of queries."""
    objs = session.scalars(select(m.Playbook).where(m.Playbook.id.in_(ids)).options(selectinload(m.Playbook.labels)))
    items = _playbook_items(session, list(set(ids)))
    return {pb.id: rep.playbook(pb, items=items[pb.id], timestamps=False) for pb in objs}


class Labels(Resource):
    name = "labels"
    model = m.Label
    fields = {"name": Field("str", required=True, blank=False, max_length=255)}
    filters = _dates(m.Label, timed=False)
    orders = _orders(m.Label)
    default_order = staticmethod(lambda: [m.Label.id.asc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [rep.label(obj) for obj in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.label(obj)

    written = detail

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
        **_dates(m.Playbook, timed=True),
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
    orders = _orders(m.Playbook, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Playbook.id.desc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        ids = [obj.id for obj in objects]
        items = _playbook_items(session, ids)
        _load_labels(session, objects)
        return [rep.playbook(obj, items=items[obj.id]) for obj in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        data = rep.playbook(obj, items=_playbook_items(session, [obj.id])[obj.id])
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
        **_dates(m.Play, timed=True),
        "playbook": Filter("number", lambda: m.Play.playbook_id),
        "uuid": Filter("uuid", lambda: m.Play.uuid),
        "status": Filter("choice", lambda: m.Play.status, choices=tuple(PlayStatus)),
        "name": Filter("icontains", lambda: m.Play.name),
    }
    orders = _orders(m.Play, "started", "ended", "duration")
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
        **_dates(m.Task, timed=True),
        "playbook": Filter("number", lambda: m.Task.playbook_id),
        "playbook_name": _by_playbook(m.Task, "name"),
        "playbook_path": _by_playbook(m.Task, "path"),
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
    orders = _orders(m.Task, "started", "ended", "duration")
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


_HOST_COUNTERS = ("changed", "failed", "ok", "skipped", "unreachable")


class Hosts(Resource):
    name = "hosts"
    model = m.Host
    fields = {
        "name": Field("str", required=True, blank=False, max_length=255),
        "facts": Field("json", default=dict),
        **{counter: Field("int") for counter in _HOST_COUNTERS},
        "playbook": Field("fk", required=True),
    }
    filters = {
        **_dates(m.Host, timed=False),
        "playbook": Filter("number", lambda: m.Host.playbook_id),
        "playbook_name": _by_playbook(m.Host, "name"),
        "playbook_path": _by_playbook(m.Host, "path"),
        "name": Filter("icontains", lambda: m.Host.name),
        **{
            f"{counter}__{op}": Filter(op, lambda c=counter: getattr(m.Host, c))
            for counter in _HOST_COUNTERS
            for op in ("gt", "lt")
        },
    }
    orders = _orders(m.Host, "name", *_HOST_COUNTERS)
    default_order = staticmethod(lambda: [m.Host.id.asc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [rep.host(o, facts=False) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        playbook = simple_playbooks(session, [obj.playbook_id])[obj.playbook_id]
        return rep.host(obj, facts=True, playbook_value=playbook)

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.host(obj, facts=True)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        """Get or create by (name, playbook), then make it the latest host of that name."""
        host = session.scalar(
            select(m.Host).where(m.Host.name == values["name"], m.Host.playbook_id == values["playbook_id"])
        )
        if host is None:
            host = super().new(session, values)
            session.flush()
        upsert_latest_host(session, host)
        return host

    def destroy(self, session: Session, key: str) -> None:
        host = self.lookup(session, key)
        repoint_latest_hosts(session, [host])
        session.delete(host)


class LatestHosts(Resource):
    name = "latesthosts"
    model = m.LatestHost
    read_only = True
    filters = {
        **_dates(m.LatestHost, timed=False),
        "playbook": Filter("number", lambda: m.Host.playbook_id, via=lambda: (m.LatestHost.host_id, select(m.Host.id))),
        "playbook_name": Filter(
            "icontains",
            lambda: m.Playbook.name,
            via=lambda: (m.LatestHost.host_id, select(m.Host.id).join(m.Playbook, m.Playbook.id == m.Host.playbook_id)),
        ),
        "name": Filter("icontains", lambda: m.LatestHost.name),
        **{
            f"{counter}__{op}": Filter(
                op, lambda c=counter: getattr(m.Host, c), via=lambda: (m.LatestHost.host_id, select(m.Host.id))
            )
            for counter in _HOST_COUNTERS
            for op in ("gt", "lt")
        },
    }
    orders = {
        "created": lambda: m.LatestHost.created,
        "updated": lambda: m.LatestHost.updated,
        "name": lambda: m.LatestHost.name,
        "id": lambda: m.LatestHost.host_id,
    }
    default_order = staticmethod(lambda: [m.LatestHost.name.asc()])

    def lookup(self, session: Session, key: str) -> Any:
        return get_or_404(session, m.LatestHost, key)

    def _shape(self, session: Session, latest: m.LatestHost, playbooks: dict[int, dict[str, Any]]) -> dict[str, Any]:
        host = session.get(m.Host, latest.host_id)
        return {
            "name": latest.name,
            "host": rep.host(host, facts=True, playbook_value=playbooks.get(host.playbook_id)) if host else None,
            "created": rep.iso(latest.created),
            "updated": rep.iso(latest.updated),
        }

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        hosts = {h.id: h for h in session.scalars(select(m.Host).where(m.Host.id.in_([o.host_id for o in objects])))}
        playbooks = simple_playbooks(session, list({h.playbook_id for h in hosts.values()}))
        return [self._shape(session, o, playbooks) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        host = session.get(m.Host, obj.host_id)
        return self._shape(session, obj, simple_playbooks(session, [host.playbook_id] if host else []))


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
        **_dates(m.Result, timed=True),
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
    orders = _orders(m.Result, "started", "ended", "duration")
    default_order = staticmethod(lambda: [m.Result.id.desc()])

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


class Files(Resource):
    name = "files"
    model = m.File
    fields = {
        "path": Field("str", required=True, blank=False, max_length=255),
        "content": Field("text", required=True),
        "playbook": Field("fk", required=True),
    }
    filters = {
        **_dates(m.File, timed=False),
        "playbook": Filter("number", lambda: m.File.playbook_id),
        "path": Filter("icontains", lambda: m.File.path),
    }
    orders = _orders(m.File, "path")
    default_order = staticmethod(lambda: [m.File.id.asc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [rep.file(o, content=False) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        playbook = simple_playbooks(session, [obj.playbook_id])[obj.playbook_id]
        return rep.file(obj, content=True, playbook_value=playbook)

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.file(obj, content=True)

    def new(self, session: Session, values: dict[str, Any]) -> Any:
        """Get or create by (path, playbook); contents are shared between files by sha1."""
        content = file_content(session, values.pop("content"))
        obj = session.scalar(
            select(m.File).where(m.File.path == values["path"], m.File.playbook_id == values["playbook_id"])
        )
        if obj is None:
            obj = m.File(content=content, **values)
            session.add(obj)
        elif obj.content_id != content.id:
            obj.content = content
        return obj

    def change(self, session: Session, obj: Any, values: dict[str, Any]) -> None:
        if "content" in values:
            obj.content = file_content(session, values.pop("content"))
        apply(obj, values)


class Records(Resource):
    name = "records"
    model = m.Record
    fields = {
        "key": Field("str", required=True, blank=False, max_length=255),
        "value": Field("json", default=""),
        "type": Field("str", required=True, blank=False, max_length=255),
        "playbook": Field("fk", required=True),
    }
    filters = {
        **_dates(m.Record, timed=False),
        "playbook": Filter("number", lambda: m.Record.playbook_id),
        "key": Filter("exact", lambda: m.Record.key),
    }
    orders = _orders(m.Record, "key")
    default_order = staticmethod(lambda: [m.Record.id.asc()])

    def list_items(self, session: Session, objects: list[Any]) -> list[dict[str, Any]]:
        return [rep.record(o, value=False) for o in objects]

    def detail(self, session: Session, obj: Any) -> dict[str, Any]:
        playbook = simple_playbooks(session, [obj.playbook_id])[obj.playbook_id]
        return rep.record(obj, value=True, playbook_value=playbook)

    def written(self, session: Session, obj: Any) -> dict[str, Any]:
        return rep.record(obj, value=True)

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


RESOURCES: dict[str, Resource] = {
    r.name: r for r in (Labels(), Playbooks(), Plays(), Tasks(), Hosts(), LatestHosts(), Results(), Files(), Records())
}
