"""``ara record list|show|delete``: key/value records saved by ``ara_record``."""

from __future__ import annotations

from typing import Annotated

import typer

from ara.cli.common import Resolver, env_flag, named
from ara.cli.options import Api, Filter, api_command
from ara.cli.output import message

app = typer.Typer(help="Key/value records saved by playbooks (ara_record).", no_args_is_help=True)

FILTERS = [
    Filter("playbook", "--playbook", "Only records of this playbook id"),
    Filter("key", "--key", "Only records with this key"),
]


@app.command("list")
@api_command(filters=FILTERS, order="-updated", limit=50, what="records")
def list_records(
    api: Api,
    long: Annotated[bool, typer.Option("--long", help="Do not truncate paths")] = False,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Show names instead of ids (defaults to ARA_CLI_RESOLVE or False)")
    ] = False,
) -> None:
    """List records, most recently updated first."""
    records = api.client.get("/api/v1/records", **api.query)["results"]
    resolver = Resolver(api.client, long=long) if resolve or env_flag("ARA_CLI_RESOLVE") else None
    rows = [{**r, "playbook": resolver.playbook(r["playbook"]) if resolver else r["playbook"]} for r in records]
    api.output.rows(rows, ("id", "key", "type", "playbook", "updated"), data=records)


@app.command("show")
@api_command()
def show_record(
    api: Api, record_id: Annotated[int, typer.Argument(metavar="RECORD_ID", help="Record to show")]
) -> None:
    """Show one record with its value."""
    record = api.client.get(f"/api/v1/records/{record_id}")
    row = {**record, "playbook": named(record.get("playbook")), "report": api.report_url(record["playbook"]["id"])}
    api.output.one(row, ("id", "report", "playbook", "key", "type", "value", "created", "updated"), data=record)


@app.command("delete")
@api_command()
def delete_record(
    api: Api, record_id: Annotated[int, typer.Argument(metavar="RECORD_ID", help="Record to delete")]
) -> None:
    """Delete one record."""
    api.client.delete(f"/api/v1/records/{record_id}")
    message(f"Deleted record {record_id}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="record")
