"""Builders that record a small playbook through the API, as a callback would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ara.clients.base import AraClient


@dataclass
class Recorded:
    playbook: dict[str, Any]
    plays: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


def record_playbook(
    client: AraClient,
    *,
    path: str = "/srv/site.yml",
    status: str = "completed",
    labels: tuple[str, ...] = (),
    hosts: tuple[str, ...] = ("web1", "web2"),
    tasks: tuple[tuple[str, str], ...] = (("install", "ok"), ("configure", "failed")),
    started: str = "2024-05-01T10:00:00Z",
    ended: str | None = "2024-05-01T10:05:00Z",
    **playbook_fields: Any,
) -> Recorded:
    """One play; each task runs on every host with the given stored status (``changed``/``ignored`` allowed)."""
    playbook = client.post(
        "/api/v1/playbooks",
        ansible_version="2.19.0",
        path=path,
        status="running",
        labels=list(labels),
        started=started,
        arguments={"check": False},
        **playbook_fields,
    )
    rec = Recorded(playbook=playbook)
    pid = playbook["id"]
    rec.files.append(client.post("/api/v1/files", playbook=pid, path=path, content="- hosts: all\n"))
    play = client.post("/api/v1/plays", playbook=pid, name="main play", uuid=str(uuid.uuid4()), status="running")
    rec.plays.append(play)
    for name in hosts:
        rec.hosts[name] = client.post("/api/v1/hosts", playbook=pid, name=name)
    for index, (task_name, status_) in enumerate(tasks):
        task = client.post(
            "/api/v1/tasks",
            playbook=pid,
            play=play["id"],
            file=rec.files[0]["id"],
            name=task_name,
            action="command",
            lineno=index + 1,
            handler=False,
            status="running",
            tags=["t1"],
            uuid=str(uuid.uuid4()),
        )
        for host in rec.hosts.values():
            stored = {"changed": "ok", "ignored": "failed"}.get(status_, status_)
            rec.results.append(
                client.post(
                    "/api/v1/results",
                    playbook=pid,
                    play=play["id"],
                    task=task["id"],
                    host=host["id"],
                    status=stored,
                    changed=status_ == "changed",
                    ignore_errors=status_ == "ignored",
                    content={"msg": f"{task_name} on {host['name']}", "rc": 0},
                    started=started,
                    ended=ended or started,
                )
            )
        failed = status_ in ("failed", "unreachable")
        rec.tasks.append(
            client.patch(f"/api/v1/tasks/{task['id']}", status="failed" if failed else "completed", ended=ended)
        )
    client.patch(f"/api/v1/plays/{play['id']}", status="completed", ended=ended)
    rec.playbook = client.patch(f"/api/v1/playbooks/{pid}", status=status, ended=ended)
    return rec
