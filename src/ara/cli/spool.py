"""``ara spool replay``: send what callbacks spooled while the server was unreachable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ara.cli.options import Api, api_command
from ara.cli.output import message
from ara.clients.settings import SpoolSettings
from ara.clients.spool import other_endpoints, replay_directory

spool_app = typer.Typer(help="The callback's spool of calls not sent yet.", no_args_is_help=True)


@api_command()
def replay(
    api: Api,
    spool_dir: Annotated[
        Path | None, typer.Option("--spool-dir", help="Spool directory (defaults to ARA_SPOOL_DIR or ~/.ara/spool)")
    ] = None,
) -> None:
    """Send the spooled calls for this server, oldest run first, in order; each file sent completely is removed."""
    directory = spool_dir if spool_dir is not None else SpoolSettings().dir
    done = replay_directory(api.client, directory, budget=api.settings.retry_seconds)
    typer.echo(f"{done.sent} calls sent from {done.files} spool files")
    if done.skipped:
        message(f"{done.skipped} calls were refused by the server or needed an object it refused")
        for error in done.errors[:5]:
            message(f"  {error}")
    for endpoint, count in other_endpoints(directory, api.client.endpoint).items():
        message(f"{count} spool files wait for {endpoint}: replay them with --client http --server {endpoint}")


spool_app.command("replay")(replay)


def register(root: typer.Typer) -> None:
    root.add_typer(spool_app, name="spool")
