"""``ara``: the command line entry point; each group lives in its own module."""

from __future__ import annotations

import typer

from ara.cli import server, worker

app = typer.Typer(
    name="ara",
    help="Ara: records, playbook runs and agent apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root() -> None:
    """Ara: records, playbook runs and agent apps."""


server.register(app)
worker.register(app)


def main() -> None:
    app()
