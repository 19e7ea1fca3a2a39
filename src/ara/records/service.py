"""Records operations on a Session: list (filters, order, paging), retrieve, create, update, delete.

Functions never commit; the caller's unit of work owns the transaction. Every resource is described once in
``resources.py``; this module holds what is common and the few special cases ARA has (get-or-create hosts and
files, labels by name, latest hosts, computed durations).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import ara
from ara.db.types import utcnow
from ara.db.upsert import insert_missing, is_unique_violation, upsert
from ara.errors import NotFound, ValidationFailed
from ara.records import models as m
from ara.records.fields import INT64_MAX, Field, range_error
from ara.records.filters import Params, conditions, ordering, page_bounds

NOT_FOUND = "Not found."


def get_or_404(session: Session, model: type[Any], key: Any) -> Any:
    obj = session.get(model, key)
    if obj is None:
        raise NotFound(NOT_FOUND)
    return obj


def parse_id(raw: str) -> int:
    """A primary key from the path; anything that is not an int64 names no row."""
    try:
        key = int(raw)
    except ValueError:
        raise NotFound(NOT_FOUND) from None
    if range_error(key, INT64_MAX):
        raise NotFound(NOT_FOUND)
    return key


def counts_by(session: Session, column: Any, ids: list[int]) -> dict[int, int]:
    """How many rows point at each of ``ids`` through ``column``, in one GROUP BY query."""
    if not ids:
        return {}
    rows = session.execute(select(column, func.count()).where(column.in_(ids)).group_by(column))
    return {key: count for key, count in rows}


def list_page(
    session: Session,
    model: type[Any],
    *,
    filters: Mapping[str, Any],
    orders: Mapping[str, Any],
    default_order: list[Any],
    params: Params,
    page_size: int,
    options: Iterable[Any] = (),
) -> tuple[int, list[Any], int, int]:
    """(count, objects of this page, limit, offset); ``options`` tune the page's load (e.g. defer a blob)."""
    where = conditions(filters, params)
    order = ordering(orders, params, default_order)
    limit, offset = page_bounds(params, page_size)
    count = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    query = select(model).where(*where).order_by(*order).limit(limit).offset(offset).options(*options)
    objects = list(session.scalars(query))
    return count, objects, limit, offset


def to_columns(session: Session, fields: Mapping[str, Field], values: dict[str, Any]) -> dict[str, Any]:
    """``playbook: 3`` becomes ``playbook_id: 3``; ``delegated_to`` ids become Host rows (one query).

    Whether referenced rows exist is left to the database's foreign keys (one failed flush is far cheaper
    than a SELECT per reference on every write); ``foreign_key_errors`` explains a failure afterwards.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        field = fields[name]
        if field.kind == "fk":
            out[field.column or f"{name}_id"] = value
        elif field.kind == "fk_list":
            hosts = list(session.scalars(select(m.Host).where(m.Host.id.in_(value)))) if value else []
            missing = sorted(set(value) - {h.id for h in hosts})
            if missing:
                errors = {name: [f"Object with id={missing[0]} does not exist."]}
                raise ValidationFailed({**foreign_key_errors(session, fields, values), **errors})
            out[name] = hosts
        else:
            out[name] = value
    return out


def foreign_key_errors(session: Session, fields: Mapping[str, Field], values: dict[str, Any]) -> dict[str, list[str]]:
    """DRF's message for each reference that points nowhere."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if fields[name].kind == "fk" and session.get(FK_MODELS[name], value) is None:
            errors[name] = [f'Invalid pk "{value}" - object does not exist.']
    return errors


FK_MODELS: dict[str, type[Any]] = {
    "playbook": m.Playbook,
    "play": m.Play,
    "task": m.Task,
    "host": m.Host,
    "file": m.File,
}


def apply(obj: Any, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        setattr(obj, key, value)
    if isinstance(obj, m.Timed):
        if obj.started is None:
            obj.started = utcnow()  # the column default comes too late to compute the duration
        obj.compute_duration()


# Look-ups every recorded playbook makes, built once (building a statement and its cache key costs more than
# running it).
_LABEL_IDS = select(m.Label.name, m.Label.id).where(m.Label.name.in_(bindparam("names", expanding=True)))
_LABELS_WITH_IDS = select(m.Label).where(m.Label.id.in_(bindparam("ids", expanding=True)))
_FILE_OF_CONTENT = (
    insert(m.File)
    .from_select(
        ["path", "content_id", "playbook_id"],
        select(bindparam("path", type_=String), m.FileContent.id, bindparam("playbook_id", type_=BigInteger)).where(
            m.FileContent.sha1 == bindparam("sha1")
        ),
    )
    .returning(m.File.id)
)
_LINK_LABELS = (
    insert(m.playbooks_labels)
    .from_select(
        ["playbook_id", "label_id"],
        select(bindparam("playbook_id", type_=BigInteger), m.Label.id).where(
            m.Label.name.in_(bindparam("names", expanding=True))
        ),
    )
    .execution_options(preserve_rowcount=True)  # how many it linked (an INSERT's count is not kept by default)
)


def label_ids(session: Session, names: Iterable[str]) -> list[int]:
    """Get or create labels by name: their ids, in the given order without duplicates, read with Core.

    Looked up first (labels repeat: usually nothing is inserted, one statement); the missing ones are inserted in
    sorted order, so two requests creating the same labels take their locks in the same order.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    connection = session.connection()
    found = dict(connection.execute(_LABEL_IDS, {"names": wanted}).all())
    missing = sorted(set(wanted) - found.keys())
    if missing:
        insert_missing(session, m.Label.__table__, [{"name": name} for name in missing], key=["name"])
        found.update(connection.execute(_LABEL_IDS, {"names": missing}).all())
    return [found[name] for name in wanted]


def link_labels(session: Session, playbook_id: int, names: Iterable[str]) -> None:
    """Label a new playbook by name, as ``label_ids`` would: the labels' look-up is part of the INSERT, one
    statement where they exist already (a run's labels do); else the missing ones are created and linked too."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    connection = session.connection()
    if connection.execute(_LINK_LABELS, {"playbook_id": playbook_id, "names": wanted}).rowcount == len(wanted):
        return
    rows = [{"playbook_id": playbook_id, "label_id": label_id} for label_id in label_ids(session, wanted)]
    insert_missing(session, m.playbooks_labels, rows, key=["playbook_id", "label_id"])  # those not linked above


def labels_by_name(session: Session, names: Iterable[str]) -> list[m.Label]:
    """``label_ids``' labels as objects, for a playbook's ``labels`` relationship."""
    ids = label_ids(session, names)
    if not ids:
        return []
    loaded = {label.id: label for label in session.scalars(_LABELS_WITH_IDS, {"ids": ids})}
    return [loaded[label_id] for label_id in ids]


def file_content(session: Session, text: str) -> m.FileContent:
    """File contents are stored once per sha1, compressed."""
    raw = text.encode("utf-8")
    sha1 = hashlib.sha1(raw).hexdigest()
    content = session.scalar(select(m.FileContent).where(m.FileContent.sha1 == sha1))
    if content is None:
        _insert_content(session, sha1, raw)
        content = session.scalars(select(m.FileContent).where(m.FileContent.sha1 == sha1)).one()
    return content


def insert_file(session: Session, text: str, *, path: str, playbook_id: int) -> int:
    """A new file row of a new playbook, its contents ``text`` (stored once per sha1, as ``file_content`` does): the
    contents' look-up is part of the INSERT, one statement where they are stored already (a run's spec is)."""
    raw = text.encode("utf-8")
    params = {"path": path, "playbook_id": playbook_id, "sha1": hashlib.sha1(raw).hexdigest()}
    connection = session.connection()
    file_id = connection.execute(_FILE_OF_CONTENT, params).scalar()
    if file_id is None:
        _insert_content(session, params["sha1"], raw)
        file_id = connection.execute(_FILE_OF_CONTENT, params).scalar_one()
    return int(file_id)


def _insert_content(session: Session, sha1: str, raw: bytes) -> None:
    row = {"sha1": sha1, "contents": zlib.compress(raw, 6)}
    insert_missing(session, m.FileContent.__table__, [row], key=["sha1"])


def get_or_create(session: Session, model: type[Any], values: Mapping[str, Any], key: Iterable[str]) -> Any:
    """The row of ``model`` whose ``key`` columns equal ``values``', created from ``values`` if there is none."""
    match = [getattr(model, name) == values[name] for name in key]
    obj = session.scalar(select(model).where(*match))
    if obj is None:
        insert_missing(session, model.__table__, [values], key=list(key))
        obj = session.scalars(select(model).where(*match)).one()
    return obj


def upsert_latest_host(session: Session, host: m.Host) -> None:
    upsert_latest(session, host.name, host.id)


def upsert_latest(session: Session, name: str, host_id: int) -> None:
    """Host ``host_id`` is now the latest of ``name``."""
    upsert(session, m.LatestHost.__table__, {"name": name, "host_id": host_id}, key=["name"], columns=["host_id"])


def repoint_latest_hosts(session: Session, hosts: list[m.Host]) -> None:
    """Before hosts are deleted: their names' latest entries move to the next most recent host, or go."""
    doomed = {h.id for h in hosts}
    for host in hosts:
        latest = session.get(m.LatestHost, host.name)
        if latest is None or latest.host_id not in doomed:
            continue
        successor = session.scalar(
            select(m.Host)
            .where(m.Host.name == host.name, m.Host.id.not_in(doomed))
            .order_by(m.Host.updated.desc(), m.Host.id.desc())
            .limit(1)
        )
        if successor is None:
            session.delete(latest)
        else:
            latest.host_id = successor.id
    session.flush()


def delete_playbook(session: Session, playbook: m.Playbook) -> None:
    hosts = list(session.scalars(select(m.Host).where(m.Host.playbook_id == playbook.id)))
    repoint_latest_hosts(session, hosts)
    # Plays, tasks, results, hosts, files and records go with it through ON DELETE CASCADE.
    session.execute(delete(m.Playbook).where(m.Playbook.id == playbook.id))


def server_version() -> str:
    return ara.__version__


def unique_violation(message_fields: str) -> ValidationFailed:
    return ValidationFailed({"non_field_errors": [f"The fields {message_fields} must make a unique set."]})


@contextmanager
def explained_integrity_errors(
    session: Session, fields: Mapping[str, Field], values: dict[str, Any], unique: ValidationFailed | None = None
) -> Iterator[None]:
    """Turn a foreign key violation at flush into a 400 naming the field, and a unique violation (a concurrent
    request won the race for the same key) into ``unique``, the 400 a serial request gets; the transaction is
    rolled back."""
    try:
        yield
        session.flush()
    except IntegrityError as error:
        session.rollback()
        errors = foreign_key_errors(session, fields, values)
        if errors:
            raise ValidationFailed(errors) from None
        if unique is not None and is_unique_violation(error):
            raise unique from None
        raise
