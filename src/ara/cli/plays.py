"""``ara play list|show|delete``: plays of recorded playbooks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli.common import Resolver, env_flag, named
from ara.cli.options import Api, Filter, api_command, status_filter
from ara.cli.output import message

app = typer.Typer(help="Plays of recorded playbooks.", no_args_is_help=True)

STATUSES = ("completed", "expired", "running", "unknown")
FILTERS = [
    Filter("playbook", "--playbook", "Only plays of this playbook id"),
    Filter("name", "--name", "Only plays with this name (full or partial)"),
    Filter("uuid", "--uuid", "Only the play with this uuid"),
    status_filter(STATUSES, "plays"),
]
Long = Annotated[bool, typer.Option("--long", help="Do not truncate paths")]
Resolve = Annotated[
    bool, typer.Option("--resolve", help="Show names instead of ids (defaults to ARA_CLI_RESOLVE or False)")
]


@app.command("list")
@api_command(filters=FILTERS, order="-started", limit=50, what="plays")
def list_plays(api: Api, long: Long = False, resolve: Resolve = False) -> None:
    """List plays, most recent first."""
    plays = api.client.get("/api/v1/plays", **api.query)["results"]
    resolver = Resolver(api.client, long=long) if resolve or env_flag("ARA_CLI_RESOLVE") else None
    rows = []
    for play in plays:
        row: dict[str, Any] = {**play, **play.get("items", {})}
        if resolver:
            row["playbook"] = resolver.playbook(play["playbook"])
        rows.append(row)
    columns = ("id", "status", "name", "playbook", "tasks", "results", "started", "duration")
    api.output.rows(rows, columns, data=plays)


@app.command("show")
@api_command()
def show_play(api: Api, play_id: Annotated[int, typer.Argument(metavar="PLAY_ID", help="Play to show")]) -> None:
    """Show one play."""
    play = api.client.get(f"/api/v1/plays/{play_id}")
    row = {**play, "playbook": named(play.get("playbook")), "report": api.report_url(play["playbook"]["id"])}
    columns = ("id", "report", "status", "name", "playbook", "started", "ended", "duration", "items")
    api.output.one(row, columns, data=play)


@app.command("delete")
@api_command()
def delete_play(api: Api, play_id: Annotated[int, typer.Argument(metavar="PLAY_ID", help="Play to delete")]) -> None:
    """Delete one play and its tasks and results."""
    api.client.delete(f"/api/v1/plays/{play_id}")
    message(f"Deleted play {play_id}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="play")
