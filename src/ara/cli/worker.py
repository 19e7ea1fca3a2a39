"""``ara worker``: execute runs from a shared PostgreSQL database without serving HTTP (any number, any machine).

Interim: the procrastinate worker replaces this (see engine/distributed.py)."""

from __future__ import annotations

import typer


def work() -> None:
    """Execute runs from the shared database until interrupted."""
    typer.echo("ara worker needs PostgreSQL", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("worker")(work)
