"""Each playbook run is recorded in the records model: the run is a playbook with one play, each action
attempt a task with one result, the target resource (or ``localhost``) the host. So one query — failed
results since yesterday — covers Ansible runs and playbook runs alike."""

from __future__ import annotations

import datetime as dt
import json
import socket
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

import yaml
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from ara.db.statements import insert_into, update_row
from ara.db.types import utcnow
from ara.playbooks.definitions import redacted_spec
from ara.playbooks.models import PlaybookRun, RunAction
from ara.records import models as m
from ara.records.resources import RESOURCES
from ara.records.service import insert_file, upsert_latest

RUN_LABEL = "playbook-run"


class Titled(Protocol):
    """What a recording needs of the playbook definition: a ``PlaybookDefinition``, or a row of those columns."""

    name: str
    title: str | None


def _path(definition: Titled) -> str:
    return f"playbook-run://{definition.name}"


class Recording(NamedTuple):
    """A run's own records rows, which its tasks and results point to."""

    playbook: int
    play: int
    file: int
    host: int


def start(session: Session, run: PlaybookRun, definition: Titled, host_name: str) -> Recording:
    """The run's records playbook, play, file and host. Written with Core INSERTs (the resources validate the
    playbook and the play as their API would): the rows are the ones the ORM wrote, at a fraction of the cost."""
    pid = RESOURCES["playbooks"].insert(
        session,
        {
            "name": (definition.title or definition.name)[:254],
            "path": _path(definition)[:255],
            "ansible_version": "n/a",
            "status": "running",
            "labels": [RUN_LABEL, f"playbook:{definition.name}"[:254]],
            "arguments": {"run_id": run.id, "trigger": run.trigger, "created_by": run.created_by},
            "controller": socket.gethostname(),
            "user": run.created_by,
        },
    )
    # The playbook is new in this transaction, so its file and host are too: inserted outright, without the
    # records API's get-or-create look-ups (two statements each), as the same rows.
    file = insert_file(session, _spec_yaml(run.spec), path=_path(definition)[:255], playbook_id=pid)
    play = RESOURCES["plays"].insert(
        session, {"playbook": pid, "name": definition.name[:254], "uuid": run.id, "status": "running"}
    )
    name = host_name[:254]
    host = _insert(session, m.Host, name=name, playbook_id=pid)
    upsert_latest(session, name, host)
    return Recording(pid, play, file, host)


def _insert(session: Session, model: Any, **values: Any) -> int:
    return int(session.connection().execute(insert_into(model.__table__), values).inserted_primary_key[0])


@lru_cache(maxsize=64)
def _dumped(spec_json: str) -> str:
    return yaml.safe_dump(redacted_spec(json.loads(spec_json)))


def _spec_yaml(spec: dict[str, Any]) -> str:
    """The redacted spec as the run's file, dumped once per distinct spec (YAML dumping costs more than the key)."""
    return _dumped(json.dumps(spec, sort_keys=True))


def _first(model: Any, playbook_id: Any) -> Any:
    """The run's own row of ``model`` is the first (an adopted ``ansible`` recording adds more)."""
    return select(func.min(model.id)).where(model.playbook_id == playbook_id).scalar_subquery()


def _ids(session: Session, playbook_id: int) -> tuple[int, int, int]:
    """The run's play, file and host ids, in one query."""
    firsts = (_first(model, playbook_id) for model in (m.Play, m.File, m.Host))
    play, file, host = session.execute(select(*firsts)).one()
    assert play is not None and file is not None and host is not None
    return play, file, host


RESULT_STATUS = {
    "completed": "ok",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "failed",
    "skipped": "skipped",
}


def record_action(
    session: Session, run: PlaybookRun, action: RunAction, kind: str, rows: Recording | None = None
) -> None:
    """One finished attempt -> one task with one result. ``rows``: what ``start`` returned, if the caller kept it
    (else looked up: the run's own rows are its records playbook's first)."""
    if run.records_playbook_id is None:
        return
    pid = run.records_playbook_id
    if rows is not None and rows.playbook == pid:
        play, file, host = rows.play, rows.file, rows.host
    else:
        play, file, host = _ids(session, pid)
    failed = RESULT_STATUS.get(action.status) == "failed"
    started = (action.start_time or action.scheduled_time).isoformat()
    ended = (action.end_time or utcnow()).isoformat()
    name = action.name if action.attempt == 1 else f"{action.name} (attempt {action.attempt})"
    task = RESOURCES["tasks"].insert(
        session,
        {
            "playbook": pid,
            "play": play,
            "file": file,
            "name": name,
            "action": kind,
            "lineno": action.position + 1,
            "handler": False,
            "status": "failed" if failed else "completed",
            "uuid": action.id,
            "started": started,
            "ended": ended,
        },
    )
    action.records_task_id = task
    content: dict[str, Any] = dict(action.result or {})
    if action.error:
        content["msg"] = action.error
    RESOURCES["results"].insert(
        session,
        {
            "playbook": pid,
            "play": play,
            "task": task,
            "host": host,
            "status": RESULT_STATUS.get(action.status, "unknown"),
            "content": content,
            "started": started,
            "ended": ended,
        },
    )


# The statements that close a run's recording, built once with bound parameters: building a statement and its
# cache key costs more than executing it (a third of ``finish``). ``:pid`` is the records playbook.
_PID = bindparam("pid")
_COUNTED = ("ok", "failed", "skipped")  # the host's counts, of the results of the whole recording


def _results(status: str) -> Any:
    return select(func.count()).where(m.Result.playbook_id == _PID, m.Result.status == status).scalar_subquery()


# The run's play, host (with its counts as stored and as its results have them) and playbook, in one statement.
_CLOSING_ROWS = (
    select(
        m.Play.id,
        m.Play.started,
        m.Host.id,
        m.Host.ok,
        m.Host.failed,
        m.Host.skipped,
        m.Playbook.started,
        *(_results(status) for status in _COUNTED),
    )
    .join(m.Play, m.Play.playbook_id == m.Playbook.id)
    .join(m.Host, m.Host.playbook_id == m.Playbook.id)
    .where(m.Playbook.id == _PID, m.Play.id == _first(m.Play, _PID), m.Host.id == _first(m.Host, _PID))
)


def finish(session: Session, run: PlaybookRun) -> None:
    """Close the run's play, host counts and playbook as the records API's partial updates would (Core UPDATEs
    with the same values, ``duration`` and ``updated``; the host only when a count changed, as the ORM does)."""
    if run.records_playbook_id is None:
        return
    ended = run.end_time or utcnow()
    status = {"completed": "completed", "cancelled": "expired"}.get(run.status, "failed")
    pid = run.records_playbook_id
    connection = session.connection()
    row = connection.execute(_CLOSING_ROWS, {"pid": pid}).one()
    play, play_started, host, stored_ok, stored_failed, stored_skipped, playbook_started, *counted = row
    _close(session, m.Play, play, play_started, "completed", ended)
    if counted != [stored_ok, stored_failed, stored_skipped]:
        connection.execute(update_row(m.Host.__table__), {"row_id": host, **dict(zip(_COUNTED, counted, strict=True))})
    _close(session, m.Playbook, pid, playbook_started, status, ended)


def _close(session: Session, model: Any, row_id: int, started: dt.datetime, status: str, ended: dt.datetime) -> None:
    duration = (ended - started).total_seconds() if started else None
    values = {"status": status, "ended": ended, "duration": duration}
    session.connection().execute(update_row(model.__table__), {"row_id": row_id, **values})


def adopt(session: Session, run: PlaybookRun, action_id: str) -> int:
    """Move what an ``ansible`` action's own recording holds (plays, tasks, results, hosts, files, records) under
    the run's records playbook, so one playbook shows the whole run; returns how many recordings were adopted."""
    from sqlalchemy import delete

    from ara.records.service import repoint_latest_hosts

    if run.records_playbook_id is None:
        return 0
    target = run.records_playbook_id
    label = f"playbook-run-action:{action_id}"
    adopted = list(
        session.scalars(
            select(m.Playbook.id)
            .join(m.playbooks_labels, m.playbooks_labels.c.playbook_id == m.Playbook.id)
            .join(m.Label, m.Label.id == m.playbooks_labels.c.label_id)
            .where(m.Label.name == label)
        )
    )
    for source in adopted:
        # Hosts and files are unique per playbook: where the run already has one of that name, point to it.
        existing_hosts = dict(session.execute(select(m.Host.name, m.Host.id).where(m.Host.playbook_id == target)).all())
        for host in list(session.scalars(select(m.Host).where(m.Host.playbook_id == source))):
            keep = existing_hosts.get(host.name)
            if keep is None:
                host.playbook_id = target
                continue
            session.execute(update(m.Result).where(m.Result.host_id == host.id).values(host_id=keep))
            session.execute(
                update(m.results_delegated_to).where(m.results_delegated_to.c.host_id == host.id).values(host_id=keep)
            )
            repoint_latest_hosts(session, [host])
            session.delete(host)
        existing_files = dict(session.execute(select(m.File.path, m.File.id).where(m.File.playbook_id == target)).all())
        for file in list(session.scalars(select(m.File).where(m.File.playbook_id == source))):
            keep = existing_files.get(file.path)
            if keep is None:
                file.playbook_id = target
                continue
            session.execute(update(m.Task).where(m.Task.file_id == file.id).values(file_id=keep))
            session.delete(file)
        session.flush()
        for model in (m.Play, m.Task, m.Result, m.Record):
            session.execute(update(model).where(model.playbook_id == source).values(playbook_id=target))
        session.execute(delete(m.Playbook).where(m.Playbook.id == source))
    return len(adopted)
