"""Statuses of recorded objects, as ARA Records Ansible defines them."""

from __future__ import annotations

from enum import StrEnum


class PlaybookStatus(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class PlayStatus(StrEnum):
    UNKNOWN = "unknown"
    RUNNING = "running"
    COMPLETED = "completed"
    EXPIRED = "expired"


class TaskStatus(StrEnum):
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    RUNNING = "running"
    UNKNOWN = "unknown"


class ResultStatus(StrEnum):
    """Stored result statuses; ``changed`` and ``ignored`` are derived when shown (see ``shown_status``)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


#: Every status a result is shown with (``shown_status``'s answers).
SHOWN_RESULT_STATUSES = ("ok", "changed", "failed", "ignored", "skipped", "unreachable", "unknown")


def shown_status(status: str, changed: bool, ignore_errors: bool) -> str:
    """ok+changed is shown as ``changed``, failed+ignore_errors as ``ignored``."""
    if status == "ok" and changed:
        return "changed"
    if status == "failed" and ignore_errors:
        return "ignored"
    return status
