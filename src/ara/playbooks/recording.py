"""Each playbook run is recorded in the records model: the run is a playbook with one play, each action
attempt a task with one result, the target resource (or ``localhost``) the host. So one query — failed
results since yesterday — covers Ansible runs and playbook runs alike."""

from __future__ import annotations

import socket
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ara.db.types import utcnow
from ara.playbooks.definitions import redacted_spec
from ara.playbooks.models import PlaybookDefinition, PlaybookRun, RunAction
from ara.records import models as m
from ara.records.resources import RESOURCES

RUN_LABEL = "playbook-run"


def _path(definition: PlaybookDefinition) -> str:
    return f"playbook-run://{definition.name}"


def start(session: Session, run: PlaybookRun, definition: PlaybookDefinition, host_name: str) -> int:
    playbook = RESOURCES["playbooks"].add(
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
    pid = playbook.id
    RESOURCES["files"].add(
        session,
        {"playbook": pid, "path": _path(definition)[:255], "content": yaml.safe_dump(redacted_spec(run.spec))},
    )
    RESOURCES["plays"].add(
        session, {"playbook": pid, "name": definition.name[:254], "uuid": run.id, "status": "running"}
    )
    RESOURCES["hosts"].add(session, {"playbook": pid, "name": host_name[:254]})
    return int(pid)


def _ids(session: Session, playbook_id: int) -> tuple[int, int, int]:
    """The run's play, file and host (the first of each: an adopted ``ansible`` recording adds more), in one query."""
    first = [
        select(func.min(model.id)).where(model.playbook_id == playbook_id).scalar_subquery()
        for model in (m.Play, m.File, m.Host)
    ]
    play, file, host = session.execute(select(*first)).one()
    assert play is not None and file is not None and host is not None
    return play, file, host


RESULT_STATUS = {
    "completed": "ok",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "failed",
    "skipped": "skipped",
}


def record_action(session: Session, run: PlaybookRun, action: RunAction, kind: str) -> None:
    """One finished attempt -> one task with one result."""
    if run.records_playbook_id is None:
        return
    pid = run.records_playbook_id
    play, file, host = _ids(session, pid)
    failed = RESULT_STATUS.get(action.status) == "failed"
    started = (action.start_time or action.scheduled_time).isoformat()
    ended = (action.end_time or utcnow()).isoformat()
    name = action.name if action.attempt == 1 else f"{action.name} (attempt {action.attempt})"
    task = RESOURCES["tasks"].add(
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
    action.records_task_id = task.id
    content: dict[str, Any] = dict(action.result or {})
    if action.error:
        content["msg"] = action.error
    RESOURCES["results"].add(
        session,
        {
            "playbook": pid,
            "play": play,
            "task": task.id,
            "host": host,
            "status": RESULT_STATUS.get(action.status, "unknown"),
            "content": content,
            "started": started,
            "ended": ended,
        },
    )


def finish(session: Session, run: PlaybookRun) -> None:
    if run.records_playbook_id is None:
        return
    ended = (run.end_time or utcnow()).isoformat()
    status = {"completed": "completed", "cancelled": "expired"}.get(run.status, "failed")
    pid = run.records_playbook_id
    play, _, host = _ids(session, pid)
    RESOURCES["plays"].amend(session, session.get(m.Play, play), {"status": "completed", "ended": ended})
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    counted = select(m.Result.status, func.count()).where(m.Result.playbook_id == pid).group_by(m.Result.status)
    for status_, count in session.execute(counted):
        if status_ in counts:
            counts[status_] = count
    RESOURCES["hosts"].amend(session, session.get(m.Host, host), counts)
    RESOURCES["playbooks"].amend(session, session.get(m.Playbook, pid), {"status": status, "ended": ended})


def adopt(session: Session, run: PlaybookRun, action_id: str) -> int:
    """Move what an ``ansible`` action's own recording holds (plays, tasks, results, hosts, files, records) under
    the run's records playbook, so one playbook shows the whole run; returns how many recordings were adopted."""
    from sqlalchemy import delete, update

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
