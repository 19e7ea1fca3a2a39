"""A runtime session in the records model, so one query ("failed results since yesterday") covers Ansible runs,
playbook runs and agent tool calls: the session is a playbook (label ``runtime``), each chat turn a play, each tool
call a task with one result on host ``sandbox`` (ok or failed; content ``{args, output, error}`` with secret values
masked). Direct calls (``POST /session/runtime/tools/execute``, the terminal) share one play per session named
``direct tool calls``.

Every function writes through the records resources in the caller's transaction and never commits. Making the
playbook locks the session's row first, so two concurrent first calls of a session make one; later calls only read
the ids they need (one query) and insert a task and a result."""

from __future__ import annotations

import datetime as dt
import functools
import socket
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Insert, Integer, Select, Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.records import models as m
from ara.records.fields import Field, text_error
from ara.records.resources import RESOURCES
from ara.records.service import apply, explained_integrity_errors
from ara.records.status import PlaybookStatus, PlayStatus
from ara.redaction import scrub_tree
from ara.runtime.models import SESSION_STOPPED, RuntimeSession
from ara.runtime.tools.base import ToolOutcome
from ara.settings import Settings
from ara.users.models import User

LABEL = "runtime"
HOST = "sandbox"
DIRECT_PLAY = "direct tool calls"
MASK = "********"


def _path(username: str, session_id: str) -> str:
    return f"runtime://{username}/{session_id}"[:255]


def _locked(session: Session, runtime_session: RuntimeSession) -> RuntimeSession:
    """The session's row, locked for this transaction (PostgreSQL; SQLite writers are serialised anyway)."""
    session.flush()  # pending changes to the row are written before it is read again
    locked = session.get(RuntimeSession, runtime_session.id, with_for_update=True, populate_existing=True)
    return locked if locked is not None else runtime_session


def session_playbook(session: Session, settings: Settings | None, runtime_session: RuntimeSession) -> int:
    """The session's records playbook, created on first use with its file (tasks need one) and host."""
    row = _locked(session, runtime_session)
    if row.playbook_id is not None:
        runtime_session.playbook_id = row.playbook_id
        return row.playbook_id
    username = session.scalar(select(User.username).where(User.id == row.user_id)) or str(row.user_id)
    path = _path(username, row.id)
    arguments: dict[str, Any] = {"session_id": row.id, "network": row.network}
    if settings is not None:
        arguments["sandbox"] = settings.runtime.sandbox
    playbook = RESOURCES["playbooks"].add(
        session,
        {
            "name": f"runtime session {row.id}",
            "path": path,
            "ansible_version": "n/a",
            "status": PlaybookStatus.RUNNING,
            "labels": [LABEL],
            "arguments": arguments,
            "controller": socket.gethostname()[:255],
            "user": username[:255],
        },
    )
    RESOURCES["files"].add(
        session, {"path": path, "content": f"Agent runtime session {row.id} of {username}\n", "playbook": playbook.id}
    )
    RESOURCES["hosts"].add(session, {"name": HOST, "playbook": playbook.id})
    row.playbook_id = runtime_session.playbook_id = playbook.id
    session.flush()
    return int(playbook.id)


def begin_turn(session: Session, runtime_session: RuntimeSession, *, name: str) -> int:
    """A new play for one chat turn; its id. A session already recorded needs no lock (its playbook is known from
    the caller's row, read in this transaction): only the first recording takes it to make the playbook."""
    playbook_id = runtime_session.playbook_id or session_playbook(session, None, runtime_session)
    return begin_play(session, playbook_id, name=name)


def end_turn(session: Session, play_id: int, *, failed: bool) -> None:
    """Ends the turn's play; a failed turn marks the session's playbook ``failed`` (it stays so when it closes)."""
    play = session.get(m.Play, play_id)
    if play is None:
        return
    apply(play, {"status": PlayStatus.COMPLETED, "ended": utcnow()})  # valid values: nothing for ``Plays`` to check
    if failed:
        playbook = session.get(m.Playbook, play.playbook_id)
        if playbook is not None:
            RESOURCES["playbooks"].amend(session, playbook, {"status": PlaybookStatus.FAILED})


@functools.cache
def _rows_query(direct: bool) -> Select[Any]:
    """Built once (bound parameters ``playbook`` and ``play``): statement construction costs more than its run."""
    playbook = bindparam("playbook", type_=Integer)
    play = (
        select(func.min(m.Play.id)).where(m.Play.playbook_id == playbook, m.Play.name == DIRECT_PLAY)
        if direct
        else select(m.Play.id).where(m.Play.id == bindparam("play", type_=Integer))
    ).scalar_subquery()
    return select(
        select(func.min(m.File.id)).where(m.File.playbook_id == playbook).scalar_subquery(),
        select(func.min(m.Host.id)).where(m.Host.playbook_id == playbook, m.Host.name == HOST).scalar_subquery(),
        play,
        select(func.count()).select_from(m.Task).where(m.Task.play_id == play).scalar_subquery(),
    )


def _rows(session: Session, playbook_id: int, play_id: int | None) -> tuple[int | None, int | None, int | None, int]:
    """The recording's file, host and direct-calls play (when ``play_id`` is None), and the next task line, in one
    query: a tool call costs one read besides its two inserts."""
    params = {"playbook": playbook_id} if play_id is None else {"playbook": playbook_id, "play": play_id}
    file_id, host_id, found_play, tasks = session.connection().execute(_rows_query(play_id is None), params).one()
    return file_id, host_id, found_play, int(tasks or 0)


def record_tool_call(
    session: Session,
    runtime_session: RuntimeSession,
    outcome: ToolOutcome,
    *,
    play_id: int | None,
    secrets: Collection[str] = (),
) -> None:
    """One tool call: a task ``<tool>`` (action ``ara_runtime.<tool>``) with its result on host ``sandbox``. The
    host's counters are set when the session closes, as Ansible's callback sets them at the end of a playbook."""
    # Known from the caller's read: no lock needed. Only a first call (or a recording deleted through the records
    # API since) takes the session's row lock to make the playbook.
    playbook_id = runtime_session.playbook_id or session_playbook(session, None, runtime_session)
    file_id, host_id, found_play, tasks = _rows(session, playbook_id, play_id)
    if file_id is None and host_id is None:
        playbook_id = session_playbook(session, None, runtime_session)
        file_id, host_id, found_play, tasks = _rows(session, playbook_id, play_id)
    _add_call(
        session,
        playbook_id,
        (file_id, host_id, found_play, tasks),
        outcome,
        secrets=secrets,
        path=_path("-", runtime_session.id),
    )


def begin_play(session: Session, playbook_id: int, *, name: str) -> int:
    """A new running play of any recorded playbook (an app run's model turn, say); its id. The row ``Plays.add``
    makes, inserted by one Core statement; a name it would refuse (a NUL, a lone surrogate) goes through it for
    its 400."""
    values = {"playbook": playbook_id, "name": name[:255], "uuid": str(uuid.uuid4()), "status": PlayStatus.RUNNING}
    if text_error(values["name"]):
        return int(RESOURCES["plays"].add(session, values).id)
    now = utcnow()
    row = {
        "playbook_id": playbook_id,
        "name": values["name"],
        "uuid": values["uuid"],
        "status": PlayStatus.RUNNING.value,
        "created": now,
        "updated": now,
        "started": now,
        "ended": None,
        "duration": None,
    }
    with explained_integrity_errors(session, _REFERENCES, {"playbook": playbook_id}):
        return int(session.connection().execute(_insert(PLAYS), row).scalar_one())


def record_call(
    session: Session,
    playbook_id: int,
    play_id: int,
    outcome: ToolOutcome,
    *,
    secrets: Collection[str] = (),
    path: str,
) -> None:
    """One tool call under a playbook recorded by someone else (an app run's): the same task and result as a
    session's, its file (``path``) and ``sandbox`` host made on first use."""
    _add_call(session, playbook_id, _rows(session, playbook_id, play_id), outcome, secrets=secrets, path=path)


def _add_call(
    session: Session,
    playbook_id: int,
    rows: tuple[int | None, int | None, int | None, int],
    outcome: ToolOutcome,
    *,
    secrets: Collection[str],
    path: str,
) -> None:
    file_id, host_id, found_play, tasks = rows
    if file_id is None:  # a recording someone edited through the records API, or a first call: make them
        file_id = RESOURCES["files"].add(session, {"path": path[:255], "content": "", "playbook": playbook_id}).id
    if host_id is None:
        host_id = RESOURCES["hosts"].add(session, {"name": HOST, "playbook": playbook_id}).id
    if found_play is None:
        uuid_ = str(uuid.uuid4())
        found_play = (
            RESOURCES["plays"]
            .add(session, {"playbook": playbook_id, "name": DIRECT_PLAY, "uuid": uuid_, "status": PlayStatus.RUNNING})
            .id
        )
    ended = utcnow()
    started = ended - dt.timedelta(seconds=max(outcome.duration_seconds, 0.0))
    masked = [value for value in secrets if value]
    content = scrub_tree({"args": outcome.args, "output": outcome.output, "error": outcome.error}, masked, MASK)
    status = "ok" if outcome.ok else "failed"
    ids = {"playbook_id": playbook_id, "play_id": found_play}
    timed = {
        "created": ended,
        "updated": ended,
        "started": started,
        "ended": ended,
        "duration": (ended - started).total_seconds(),
    }
    task = {
        **ids,
        **timed,
        "file_id": file_id,
        "name": outcome.name,
        "action": f"ara_runtime.{outcome.name}",
        "lineno": tasks + 1,
        "handler": False,
        "status": "completed" if outcome.ok else "failed",
        "uuid": str(uuid.uuid4()),
        "tags": [],
        "warnings": [],
        "deprecations": [],
        "exceptions": [],
    }
    result = {**ids, **timed, "host_id": host_id, "status": status, "changed": False, "ignore_errors": False}
    # The rows the records resources would make from the same fields (``Tasks.add``, ``Results.add``), inserted
    # as two Core statements: the ORM's unit of work costs more than the call it records. A reference deleted
    # meanwhile through the records API is still the resources' 400 naming the field.
    fields = {"playbook": playbook_id, "play": found_play, "file": file_id, "host": host_id}
    with explained_integrity_errors(session, _REFERENCES, fields):
        connection = session.connection()
        task_id = connection.execute(_insert(TASKS), task).scalar_one()
        connection.execute(_insert(RESULTS, returning=False), {**result, "task_id": task_id, "content": content})


PLAYS: Table = m.Play.__table__
TASKS: Table = m.Task.__table__
RESULTS: Table = m.Result.__table__
_REFERENCES = {name: Field("fk", required=True) for name in ("playbook", "play", "file", "host")}


@functools.cache
def _insert(table: Table, *, returning: bool = True) -> Insert:
    """Built once: an INSERT of the columns given, answering the new row's id when ``returning``."""
    statement = insert(table)
    return statement.returning(table.c.id) if returning else statement


def _count_host(session: Session, playbook_id: int) -> None:
    """The ``sandbox`` host's ok/failed counters from its results."""
    host = session.scalar(select(m.Host).where(m.Host.playbook_id == playbook_id, m.Host.name == HOST))
    if host is None:
        return
    counted = dict(
        session.execute(
            select(m.Result.status, func.count()).where(m.Result.host_id == host.id).group_by(m.Result.status)
        ).all()
    )
    RESOURCES["hosts"].amend(session, host, {"ok": counted.get("ok", 0), "failed": counted.get("failed", 0)})


def close_session(session: Session, runtime_session: RuntimeSession) -> None:
    """A stopped session's playbook ends: its running plays complete, it is ``completed`` (or stays ``failed``)."""
    if runtime_session.playbook_id is None:
        return
    playbook = session.get(m.Playbook, runtime_session.playbook_id)
    if playbook is None or playbook.ended is not None:
        return
    ended = (runtime_session.stopped_at or utcnow()).isoformat()
    for play in session.scalars(
        select(m.Play).where(m.Play.playbook_id == playbook.id, m.Play.status == PlayStatus.RUNNING)
    ):
        RESOURCES["plays"].amend(session, play, {"status": PlayStatus.COMPLETED, "ended": ended})
    _count_host(session, playbook.id)
    status = PlaybookStatus.FAILED if playbook.status == PlaybookStatus.FAILED else PlaybookStatus.COMPLETED
    RESOURCES["playbooks"].amend(session, playbook, {"status": status, "ended": ended})


def close_stopped_sessions(session: Session) -> int:
    """Closes the playbooks of stopped sessions still open (after the idle stop); how many."""
    open_ones = session.scalars(
        select(RuntimeSession)
        .join(m.Playbook, m.Playbook.id == RuntimeSession.playbook_id)
        .where(RuntimeSession.status == SESSION_STOPPED, m.Playbook.ended.is_(None))
    ).all()
    for runtime_session in open_ones:
        close_session(session, runtime_session)
    return len(open_ones)
