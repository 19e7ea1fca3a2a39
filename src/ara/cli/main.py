"""``ara``: the command line entry point; each group lives in its own module."""

from __future__ import annotations

import typer

from ara.cli import (
    apps,
    auth,
    catalog,
    connect,
    definitions,
    expire,
    hosts,
    playbooks,
    plays,
    records,
    results,
    runs,
    runtime,
    server,
    spool,
    tasks,
    users,
    worker,
)
from ara.cli.errors import EXIT_ERROR, missing_package
from ara.cli.options import root_callback
from ara.errors import ConfigError

app = typer.Typer(
    name="ara",
    help="Ara: records, playbook runs and agent apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
@root_callback
def root() -> None:
    """Ara: records, playbook runs and agent apps."""


server.register(app)
for group in (playbooks, plays, tasks, hosts, results, records, expire, definitions, runs, catalog, users, spool):
    group.register(app)
worker.register(app)
auth.register(app)
runtime.register(app)
connect.register(app)
apps.register(app)


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # a setting found wrong at start (``ara server``, ``ara worker``): one line, exit 2
        typer.echo(f"Error: {exc.message}", err=True)
        raise SystemExit(EXIT_ERROR) from None
    except ModuleNotFoundError as exc:  # a server command in the base install (no ``server`` extra)
        if not exc.name or exc.name.split(".")[0] in ("ara", "ara_sdk"):
            raise
        typer.echo(f"Error: {missing_package(exc)}", err=True)
        raise SystemExit(EXIT_ERROR) from None
