"""``ara playbook list|show|delete|prune|metrics``: recorded playbook executions, with ARA's options."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli import playbook_tail
from ara.cli.common import ago, grouped, seconds, timing, truncatepath
from ara.cli.options import Api, Filter, api_command, status_filter
from ara.cli.output import message

app = typer.Typer(help="Recorded playbook executions.", no_args_is_help=True)

STATUSES = ("completed", "expired", "failed", "running", "unknown")
ITEMS = ("plays", "tasks", "results", "hosts", "files", "records")


def _filters(what: str) -> list[Filter]:
    """ARA's playbook search options (its spellings: ``--ansible_version`` with an underscore)."""
    return [
        Filter("label", "--label", f"Only {what} with this label"),
        Filter("ansible_version", "--ansible_version", f"Only {what} that ran this Ansible version (full or partial)"),
        Filter("client_version", "--client_version", f"Only {what} recorded by this ara client version"),
        Filter("server_version", "--server_version", f"Only {what} recorded by this ara server version"),
        Filter("python_version", "--python_version", f"Only {what} recorded with this Python version"),
        Filter("user", "--user", f"Only {what} run by this user (full or partial)"),
        Filter("controller", "--controller", f"Only {what} run from this controller (full or partial)"),
        Filter("name", "--name", f"Only {what} with this name (full or partial)"),
        Filter("path", "--path", f"Only {what} with this path (full or partial)"),
        status_filter(STATUSES, what),
    ]


Long = Annotated[bool, typer.Option("--long", help="Do not truncate paths; add name, plays, files and records")]

LIST_COLUMNS = ("id", "status", "controller", "user", "ansible_version", "path", "tasks", "results", "hosts")
LONG_COLUMNS = (
    "id",
    "status",
    "controller",
    "user",
    "ansible_version",
    "client_version",
    "server_version",
    "python_version",
    "name",
    "path",
    *ITEMS,
)


def _row(playbook: dict[str, Any], *, long: bool) -> dict[str, Any]:
    row = {**playbook, **playbook.get("items", {})}
    if not long:
        row["path"] = truncatepath(row.get("path"))
    return row


@app.command("list")
@api_command(filters=_filters("playbooks"), order="-started", limit=50, what="playbooks")
def list_playbooks(api: Api, long: Long = False) -> None:
    """List playbooks, most recent first."""
    playbooks = api.client.get("/api/v1/playbooks", **api.query)["results"]
    columns = (*(LONG_COLUMNS if long else LIST_COLUMNS), "started", "duration")
    api.output.rows([_row(p, long=long) for p in playbooks], columns, data=playbooks)


SHOW_COLUMNS = (
    "id",
    "report",
    "controller",
    "user",
    "ansible_version",
    "client_version",
    "server_version",
    "python_version",
    "status",
    "path",
    "started",
    "ended",
    "duration",
    "items",
    "labels",
    "arguments",
)


@app.command("show")
@api_command()
def show_playbook(
    api: Api, playbook_id: Annotated[int, typer.Argument(metavar="PLAYBOOK_ID", help="Playbook to show")]
) -> None:
    """Show one playbook (json/yaml also include its plays, tasks and results)."""
    playbook = api.client.get(f"/api/v1/playbooks/{playbook_id}")
    api.output.one({**playbook, "report": api.report_url(playbook_id)}, SHOW_COLUMNS, data=playbook)


@app.command("delete")
@api_command()
def delete_playbook(
    api: Api, playbook_id: Annotated[int, typer.Argument(metavar="PLAYBOOK_ID", help="Playbook to delete")]
) -> None:
    """Delete one playbook and everything recorded under it."""
    api.client.delete(f"/api/v1/playbooks/{playbook_id}")
    message(f"Deleted playbook {playbook_id}")


PRUNE_COLUMNS = ("id", "status", "path", "started")


@app.command("prune")
@api_command(filters=_filters("playbooks"), order="started", limit=200, what="playbooks")
def prune_playbooks(
    api: Api,
    days: Annotated[int, typer.Option("--days", min=0, help="Delete playbooks started this many days ago")] = 31,
    confirm: Annotated[bool, typer.Option("--confirm", help="Really delete; without it only report")] = False,
) -> None:
    """Delete playbooks older than --days (only lists them unless --confirm is given)."""
    query = {**api.query, "started_before": ago(days=days)}
    found = api.client.get("/api/v1/playbooks", **query)
    playbooks = found["results"]
    message(f"Found {found['count']} playbooks started more than {days} days ago matching the query")
    deleted = 0
    if confirm:
        for playbook in playbooks:
            api.client.delete(f"/api/v1/playbooks/{playbook['id']}")
            deleted += 1
    api.output.rows([_row(p, long=True) for p in playbooks], PRUNE_COLUMNS, data=playbooks)
    if confirm:
        message(f"{deleted} playbooks deleted")
    else:
        message(f"--confirm was not given: nothing deleted ({len(playbooks)} playbooks would be)")


METRICS_COLUMNS = (
    "aggregate",
    "count",
    "duration_total",
    "duration_avg",
    "tasks",
    "results",
    "hosts",
    "completed",
    "failed",
    "running",
)
METRICS_LONG_COLUMNS = (
    "aggregate",
    "count",
    "duration_total",
    "duration_avg",
    *ITEMS,
    "completed",
    "expired",
    "failed",
    "running",
    "unknown",
)
AGGREGATES = ("name", "path", "ansible_version", "controller")


def playbook_metrics(playbooks: list[dict[str, Any]], aggregate: str, *, long: bool) -> list[dict[str, Any]]:
    """Counts per ``aggregate`` value: playbooks, items, statuses and durations (ARA's ``playbook metrics``)."""
    rows = []
    for first, members in grouped(playbooks, aggregate, long=long):
        row: dict[str, Any] = {
            **first,
            **dict.fromkeys(ITEMS, 0),
            **dict.fromkeys(STATUSES, 0),
        }
        for playbook in members:
            if playbook.get("status") in STATUSES:
                row[playbook["status"]] += 1
            for item in ITEMS:
                row[item] += playbook.get("items", {}).get(item, 0)
        total = sum(seconds(p.get("duration")) for p in members)
        row["duration_total"], row["duration_avg"] = timing(total, len(members))
        rows.append(row)
    return rows


@app.command("metrics")
@api_command(filters=_filters("playbooks"), order="-started", limit=1000, what="playbooks")
def metrics(
    api: Api,
    aggregate: Annotated[
        str,
        typer.Option("--aggregate", help=f"Group playbooks by {', '.join(AGGREGATES)}"),
    ] = "path",
    long: Annotated[bool, typer.Option("--long", help="Do not truncate paths; add every count")] = False,
) -> None:
    """Counts and durations of playbooks grouped by path, name, Ansible version or controller."""
    if aggregate not in AGGREGATES:
        raise typer.BadParameter(f"{aggregate!r} is not one of {', '.join(AGGREGATES)}", param_hint="'--aggregate'")
    playbooks = api.client.get("/api/v1/playbooks", **api.query)["results"]
    rows = playbook_metrics(playbooks, aggregate, long=long)
    api.output.rows(rows, METRICS_LONG_COLUMNS if long else METRICS_COLUMNS)


@app.command("tail")
@api_command()
def tail_playbook(
    api: Api, playbook_id: Annotated[int, typer.Argument(metavar="PLAYBOOK_ID", help="Playbook to follow")]
) -> None:
    """Follow a playbook live: each task and result as it is recorded, then its final status."""
    status = playbook_tail.tail(api.client, playbook_id, stream=api.settings.client == "http")
    message(f"Final status: {status}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="playbook")
