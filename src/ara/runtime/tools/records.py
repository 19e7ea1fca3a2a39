"""``records``: a read-only look at what Ara recorded (the ``/api/v1`` data), for agents whose ``skills`` list it.

It reads through the records models in the server's process (never over HTTP), as the tool's user (an app's
owner): records are readable by every active user, as the records API is with a login, so the check is that the
user exists and is active. Every answer is capped: lists by ``limit``, a file's content, a host's facts and the
whole answer by size, so one call never floods the model's context."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ara.db.session import unit_of_work
from ara.db.types import iso
from ara.errors import ToolFailed
from ara.records import models as m
from ara.records.representation import file_content_text
from ara.runtime.tools.args import builtin
from ara.runtime.tools.base import ToolContext
from ara.users.models import User

QUERIES = ("playbooks", "failed_results", "file", "host")
MAX_LIMIT = 50
FILE_CHARS = 16_000  # of a file's content
FACTS_CHARS = 8_000  # of a host's facts, as JSON
MESSAGE_CHARS = 2_000  # of a failed result's message
ANSWER_CHARS = 48_000  # of the whole answer, as JSON
#: Facts kept first when a host's facts are over their cap: what explains a failure most often.
FIRST_FACTS = (
    "ansible_hostname",
    "ansible_fqdn",
    "ansible_distribution",
    "ansible_distribution_version",
    "ansible_os_family",
    "ansible_kernel",
    "ansible_architecture",
    "ansible_python_version",
    "ansible_default_ipv4",
    "ansible_memtotal_mb",
    "ansible_processor_vcpus",
    "ansible_mounts",
)
FAILED = ("failed", "unreachable")

PARAMETERS: dict[str, Any] = {
    "properties": {
        "query": {
            "type": "string",
            "enum": list(QUERIES),
            "description": "playbooks: recorded playbooks (filter by status, label, name); failed_results: a "
            "playbook's failed and unreachable results with their task (name, action, file, line) and host; "
            "file: a recorded file's content; host: a recorded host's stats and facts",
        },
        "status": {"type": "string", "description": "playbooks: running, completed, failed, expired"},
        "label": {"type": "string", "description": "playbooks: only those carrying this label"},
        "name": {"type": "string", "description": "playbooks: name or path contains this text"},
        "playbook_id": {"type": "integer", "minimum": 1, "description": "failed_results, host: the playbook's id"},
        "file_id": {"type": "integer", "minimum": 1, "description": "file: the file's id (a task's file_id)"},
        "host_id": {"type": "integer", "minimum": 1, "description": "host: the host's id (a result's host.id)"},
        "host": {"type": "string", "description": "host: the host's name, with playbook_id"},
        "limit": {"type": "integer", "minimum": 1, "description": f"lists: at most this many (<= {MAX_LIMIT})"},
    },
    "required": ["query"],
}


def _run(ctx: ToolContext, args: dict[str, Any]) -> Any:
    query = args["query"]
    if query not in QUERIES:
        raise ToolFailed(f"records: query must be one of {', '.join(QUERIES)}, not {query!r}")
    factory = ctx.reader or ctx.writer
    if factory is None:
        raise ToolFailed("records needs the server's database, which this tool context does not have")
    limit = min(int(args.get("limit") or 20), MAX_LIMIT)
    with unit_of_work(factory) as session:
        user = session.get(User, ctx.user_id)
        if user is None or not user.is_active:
            raise ToolFailed("records: this app's owner may not read records (unknown or inactive user)")
        answer = _QUERIES[query](session, args, limit)
    return _capped(answer)


def _playbooks(session: Session, args: dict[str, Any], limit: int) -> dict[str, Any]:
    query = select(m.Playbook)
    if args.get("status"):
        query = query.where(m.Playbook.status == args["status"])
    if args.get("label"):
        query = query.where(m.Playbook.labels.any(m.Label.name == args["label"]))
    if args.get("name"):
        pattern = "%" + args["name"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(m.Playbook.name.like(pattern, escape="\\"), m.Playbook.path.like(pattern, escape="\\")))
    rows = session.scalars(query.order_by(m.Playbook.id.desc()).limit(limit))
    return {
        "playbooks": [
            {
                "id": p.id,
                "name": p.name,
                "path": p.path,
                "status": p.status,
                "labels": [label.name for label in p.labels],
                "started": iso(p.started),
                "ended": iso(p.ended),
                "controller": p.controller,
            }
            for p in rows
        ]
    }


def _playbook(session: Session, args: dict[str, Any]) -> m.Playbook:
    if not args.get("playbook_id"):
        raise ToolFailed(f"records: query {args['query']!r} needs playbook_id")
    playbook = session.get(m.Playbook, args["playbook_id"])
    if playbook is None:
        raise ToolFailed(f"records: no playbook {args['playbook_id']}")
    return playbook


def _message(content: Any) -> str:
    """What a failed result says: its ``msg``, else its stderr, else its stdout (capped)."""
    content = content if isinstance(content, dict) else {}
    for key in ("msg", "stderr", "stdout", "reason"):
        value = content.get(key)
        if value:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            return text[:MESSAGE_CHARS]
    return ""


def _failed_results(session: Session, args: dict[str, Any], limit: int) -> dict[str, Any]:
    playbook = _playbook(session, args)
    rows = session.execute(
        select(m.Result, m.Task, m.Host, m.File)
        .join(m.Task, m.Task.id == m.Result.task_id)
        .join(m.Host, m.Host.id == m.Result.host_id)
        .join(m.File, m.File.id == m.Task.file_id)
        .where(m.Result.playbook_id == playbook.id, m.Result.status.in_(FAILED))
        .order_by(m.Result.id)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).where(m.Result.playbook_id == playbook.id, m.Result.status.in_(FAILED)))
    return {
        "playbook": {"id": playbook.id, "path": playbook.path, "status": playbook.status},
        "count": total,
        "results": [
            {
                "id": result.id,
                "status": result.status,
                "ignore_errors": result.ignore_errors,
                "message": _message(result.content),
                "task": {
                    "id": task.id,
                    "name": task.name,
                    "action": task.action,
                    "file_id": file.id,
                    "path": file.path,
                    "lineno": task.lineno,
                },
                "host": {"id": host.id, "name": host.name},
            }
            for result, task, host, file in rows
        ],
    }


def _file(session: Session, args: dict[str, Any], _limit: int) -> dict[str, Any]:
    if not args.get("file_id"):
        raise ToolFailed("records: query 'file' needs file_id")
    found = session.get(m.File, args["file_id"])
    if found is None:
        raise ToolFailed(f"records: no file {args['file_id']}")
    text = file_content_text(found.content)
    return {
        "id": found.id,
        "path": found.path,
        "playbook_id": found.playbook_id,
        "content": text[:FILE_CHARS],
        "truncated": len(text) > FILE_CHARS,
    }


def _host(session: Session, args: dict[str, Any], _limit: int) -> dict[str, Any]:
    if args.get("host_id"):
        host = session.get(m.Host, args["host_id"])
    elif args.get("host"):
        playbook = _playbook(session, args)
        host = session.scalar(select(m.Host).where(m.Host.playbook_id == playbook.id, m.Host.name == args["host"]))
    else:
        raise ToolFailed("records: query 'host' needs host_id, or host with playbook_id")
    if host is None:
        raise ToolFailed("records: no such host")
    facts, omitted = _facts(host.facts if isinstance(host.facts, dict) else {})
    return {
        "id": host.id,
        "name": host.name,
        "playbook_id": host.playbook_id,
        "stats": {k: getattr(host, k) for k in ("ok", "changed", "failed", "skipped", "unreachable")},
        "facts": facts,
        "facts_omitted": omitted,
    }


def _facts(facts: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """As many facts as fit in ``FACTS_CHARS`` (the telling ones first) and how many were left out."""
    order = [key for key in FIRST_FACTS if key in facts] + sorted(key for key in facts if key not in FIRST_FACTS)
    kept: dict[str, Any] = {}
    size = 2
    for key in order:
        piece = len(json.dumps({key: facts[key]}, default=str))
        if size + piece <= FACTS_CHARS:
            kept[key] = facts[key]
            size += piece
    return kept, len(facts) - len(kept)


def _capped(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer, with its longest list cut until it fits in ``ANSWER_CHARS``."""
    while len(json.dumps(answer, default=str)) > ANSWER_CHARS:
        lists = [key for key, value in answer.items() if isinstance(value, list) and value]
        if not lists:
            return {"error": "answer too large", "truncated": True}
        longest = max(lists, key=lambda key: len(answer[key]))
        answer = {**answer, longest: answer[longest][: len(answer[longest]) // 2], "truncated": True}
    return answer


_QUERIES = {"playbooks": _playbooks, "failed_results": _failed_results, "file": _file, "host": _host}

RECORDS = builtin(
    "records",
    "Read what Ara recorded (Ansible runs, playbook runs, agent runs): list playbooks, a playbook's failed "
    "results with their tasks and hosts, a recorded file's content, a host's facts. Read-only.",
    PARAMETERS,
    _run,
)
