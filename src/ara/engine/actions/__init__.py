"""Action runners, one module per kind; each turns a rendered action spec into an ``Outcome``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ara.engine.actions.base import ActionContext, Outcome


def runner_for(kind: str) -> Callable[[Any, ActionContext], Outcome]:
    if kind == "exec":
        from ara.engine.actions.exec import run_exec

        return run_exec
    if kind == "http":
        from ara.engine.actions.http import run_http

        return run_http
    if kind == "sql":
        from ara.engine.actions.sql import run_sql

        return run_sql
    if kind == "ansible":
        from ara.engine.actions.ansible import run_ansible

        return run_ansible
    if kind == "agent":
        from ara.engine.actions.agent import run_agent

        return run_agent
    raise ValueError(f"unknown action kind {kind!r}")


__all__ = ["ActionContext", "Outcome", "runner_for"]
