"""The dataset of ``bench/ui.py``: one playbook of HOSTS x TASKS results, as create operations both servers accept.

Shaped like a recording of ``gen_playbook.py``'s workload: one play, one file (the playbook's YAML, each task's
``lineno`` pointing at its ``- name:`` line), every task on every host. Every ``fail_every``-th task fails on
the first host and is skipped on the others (not ignored, so the page's "failed first" has results to move and
the UI's "failed" filter finds them; synthetic: a real run would drop the failed host); the ``command`` tasks
report ``changed`` on every fifth host; the rest are ok. Host stats add up to the results. Two ``ara_record``
records and two labels, so the page's records and labels sections have something to show.

Operations are ``{"kind", "body", "ref"?}``; ``@ref`` in a body names an object created earlier (the format
``bench/queries.py``'s ``load_ours`` and ``upstream_load.py`` read).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from bench.queries import result_content

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PATH = "/bench/ui/site.yml"


def stamp(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).isoformat()


@dataclass(frozen=True)
class Shape:
    hosts: int
    tasks: int
    fail_every: int = 10

    @property
    def results(self) -> int:
        return self.hosts * self.tasks

    def status(self, task: int, host: int) -> str:
        if self.fails(task):
            return "failed" if host == 0 else "skipped"
        if task % 3 == 2 and host % 5 == 0:
            return "changed"
        return "ok"

    def fails(self, task: int) -> bool:
        return bool(self.fail_every) and task > 0 and task % self.fail_every == 0

    def failed_results(self) -> int:
        return sum(self.fails(task) for task in range(self.tasks)) if self.hosts else 0


def playbook_yaml(shape: Shape) -> tuple[str, list[int]]:
    """The playbook file and each task's line number (1-based), like ``gen_playbook.py`` writes it."""
    lines = ["- name: ui bench workload", "  hosts: bench", "  gather_facts: false", "  tasks:"]
    linenos = []
    for t in range(shape.tasks):
        linenos.append(len(lines) + 1)
        lines.append(f"    - name: task {t}")
        if shape.fails(t):
            lines += ["      command: /bin/false", "      when: inventory_hostname == 'h0000'"]
        elif t % 3 == 0:
            lines += ["      debug:", f"        msg: 'step {t} on {{{{ inventory_hostname }}}}'"]
        elif t % 3 == 1:
            lines += ["      set_fact:", f"        fact_{t}: '{{{{ inventory_hostname }}}}-{t}'"]
        else:
            lines += ["      command: /bin/true", "      changed_when: inventory_hostname[-1] in '05'"]
    return "\n".join(lines) + "\n", linenos


def action(shape: Shape, task: int) -> str:
    if shape.fails(task) or task % 3 == 2:
        return "command"
    return "debug" if task % 3 == 0 else "set_fact"


def dataset(shape: Shape) -> list[dict[str, Any]]:
    """Create operations for the playbook, in an order both APIs accept (parents first)."""
    content, linenos = playbook_yaml(shape)
    end = stamp(shape.tasks + 1)
    playbook = {
        "ansible_version": "2.19.14",
        "status": "failed" if shape.failed_results() else "completed",
        "path": PATH,
        "name": "ui bench",
        "labels": ["bench", "ui"],
        "controller": "bench.example",
        "user": "bench",
        "started": stamp(0),
        "ended": end,
    }
    ops: list[dict[str, Any]] = [
        {"kind": "playbooks", "ref": "pb", "body": playbook},
        {"kind": "files", "ref": "file", "body": {"playbook": "@pb", "path": PATH, "content": content}},
        {
            "kind": "plays",
            "ref": "play",
            "body": {
                "playbook": "@pb",
                "name": "ui bench workload",
                "uuid": str(uuid.UUID(int=1)),
                "status": "completed",
            },
        },
    ]
    for key, value in (("version", "1.2.3"), ("owner", "bench team")):
        ops.append({"kind": "records", "body": {"playbook": "@pb", "key": key, "value": value, "type": "text"}})
    for h in range(shape.hosts):
        counts = {"ok": 0, "changed": 0, "failed": 0, "skipped": 0, "unreachable": 0}
        for t in range(shape.tasks):
            status = shape.status(t, h)
            counts[status] += 1
        ops.append({"kind": "hosts", "ref": f"h{h}", "body": {"playbook": "@pb", "name": f"h{h:04d}", **counts}})
    for t in range(shape.tasks):
        task = {
            "playbook": "@pb",
            "play": "@play",
            "file": "@file",
            "name": f"task {t}",
            "action": action(shape, t),
            "lineno": linenos[t],
            "handler": False,
            "status": "completed",
            "uuid": str(uuid.UUID(int=1_000_000 + t)),
            "started": stamp(t),
            "ended": stamp(t + 1),
        }
        ops.append({"kind": "tasks", "ref": f"t{t}", "body": task})
        for h in range(shape.hosts):
            status = shape.status(t, h)
            name = f"h{h:04d}"
            content = result_content(t, name, "ok" if status == "changed" else status)
            if status == "changed":
                content = {**content, "changed": True}
            result = {
                "playbook": "@pb",
                "play": "@play",
                "task": f"@t{t}",
                "host": f"@h{h}",
                "status": "ok" if status == "changed" else status,  # shown as changed: ok with changed set
                "changed": status in ("changed", "failed"),
                "ignore_errors": False,
                "started": stamp(t + h * 0.001),
                "ended": stamp(t + h * 0.001 + 0.0005),
                "content": content,
            }
            ops.append({"kind": "results", "ref": "failed" if status == "failed" else None, "body": result})
    return ops
