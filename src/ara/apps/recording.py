"""An app run in the records model: one playbook per run (name ``<slug>/<agent>``, path ``app://<slug>/<agent>``,
labels ``app:<slug>``, ``agent:<agent_id>``, ``trigger:<trigger>``), with the file and the ``sandbox`` host that
its turns and tool calls (recorded by the agent's execution under ``RunRequest.playbook_id``) hang on. It is
``running`` while the run runs and ``completed`` or ``failed`` with it, so ``ara playbook list --status failed``
lists failed agent runs beside failed Ansible runs and playbook runs."""

from __future__ import annotations

import socket

from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.apps.models import App, AppRun
from ara.db.types import utcnow
from ara.records import models as m
from ara.records.resources import RESOURCES
from ara.records.status import PlaybookStatus, PlayStatus
from ara.users.models import User

HOST = "sandbox"


def path_of(slug: str, agent_id: str) -> str:
    return f"app://{slug}/{agent_id}"[:255]


def open_playbook(session: Session, app: App, run: AppRun) -> int:
    """The run's records playbook, made right after the admission, in a transaction of its own; its id."""
    path = path_of(app.slug, run.agent_id)
    owner = session.scalar(select(User.username).where(User.id == app.owner_id)) or str(app.owner_id)
    playbook = RESOURCES["playbooks"].add(
        session,
        {
            "name": f"{app.slug}/{run.agent_id}"[:255],
            "path": path,
            "ansible_version": "n/a",
            "status": PlaybookStatus.RUNNING,
            "labels": [f"app:{app.slug}", f"agent:{run.agent_id}", f"trigger:{run.trigger}"],
            "arguments": {"app_id": app.id, "run_id": run.run_id, "agent_id": run.agent_id, "trigger": run.trigger},
            "controller": socket.gethostname()[:255],
            "user": owner[:255],
        },
    )
    RESOURCES["files"].add(
        session, {"path": path, "content": f"Agent {run.agent_id} of app {app.slug}\n", "playbook": playbook.id}
    )
    RESOURCES["hosts"].add(session, {"name": HOST, "playbook": playbook.id})
    session.flush()
    return int(playbook.id)


def close_playbook(session: Session, playbook_id: int, *, failed: bool) -> None:
    """The run ended: its running plays complete and its playbook takes the run's outcome."""
    playbook = session.get(m.Playbook, playbook_id)
    if playbook is None or playbook.ended is not None:
        return
    ended = utcnow().isoformat()
    for play in session.scalars(
        select(m.Play).where(m.Play.playbook_id == playbook_id, m.Play.status == PlayStatus.RUNNING)
    ):
        RESOURCES["plays"].amend(session, play, {"status": PlayStatus.COMPLETED, "ended": ended})
    status = PlaybookStatus.FAILED if failed else PlaybookStatus.COMPLETED
    RESOURCES["playbooks"].amend(session, playbook, {"status": status, "ended": ended})
