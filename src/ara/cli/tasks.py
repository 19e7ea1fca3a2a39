"""``ara task list|show|delete|metrics``: tasks of recorded playbooks."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli.common import Resolver, env_flag, grouped, seconds, timing, truncatepath
from ara.cli.options import Api, Filter, api_command, presence_filters, status_filter
from ara.cli.output import message

app = typer.Typer(help="Tasks of recorded playbooks.", no_args_is_help=True)

STATUSES = ("completed", "expired", "failed", "running", "unknown")


def _filters(what: str, *, presence: bool = True) -> list[Filter]:
    out = [
        Filter("playbook", "--playbook", f"Only {what} of this playbook id"),
        status_filter(STATUSES, what),
        Filter("name", "--name", f"Only {what} with this name (full or partial)"),
        Filter("uuid", "--uuid", f"Only the {what} with this uuid"),
        Filter("path", "--path", f"Only {what} from this file path (full or partial)"),
        Filter("action", "--action", f"Only {what} of this action/module (ex: 'debug', 'package')"),
    ]
    if presence:
        for noun in ("deprecations", "exceptions", "warnings"):
            out += presence_filters(noun, f"{noun}_count", what)
    return out


Long = Annotated[bool, typer.Option("--long", help="Do not truncate paths; add more columns")]


@app.command("list")
@api_command(filters=_filters("tasks"), order="-started", limit=50, what="tasks")
def list_tasks(
    api: Api,
    long: Long = False,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Show names instead of ids (defaults to ARA_CLI_RESOLVE or False)")
    ] = False,
) -> None:
    """List tasks, most recent first."""
    tasks = api.client.get("/api/v1/tasks", **api.query)["results"]
    resolver = Resolver(api.client, long=long) if resolve or env_flag("ARA_CLI_RESOLVE") else None
    rows = []
    for task in tasks:
        row: dict[str, Any] = {**task, **task.get("items", {})}
        if resolver:
            row["playbook"] = resolver.playbook(task["playbook"])
            if long:
                row["play"] = resolver.named("plays", task["play"])
        if not long:
            row["path"] = truncatepath(row.get("path"))
        rows.append(row)
    if long:
        columns: tuple[str, ...] = (
            "id",
            "uuid",
            "status",
            "deprecations",
            "exceptions",
            "warnings",
            "results",
            "action",
            "name",
            "tags",
            "path",
            "lineno",
            "handler",
            "playbook",
            "play",
        )
    else:
        columns = ("id", "status", "results", "action", "name", "playbook")
    api.output.rows(rows, (*columns, "started", "duration"), data=tasks)


SHOW_COLUMNS = (
    "id",
    "uuid",
    "report",
    "name",
    "action",
    "status",
    "path",
    "lineno",
    "started",
    "ended",
    "duration",
    "tags",
    "handler",
    "deprecations",
    "exceptions",
    "warnings",
)


@app.command("show")
@api_command()
def show_task(api: Api, task_id: Annotated[int, typer.Argument(metavar="TASK_ID", help="Task to show")]) -> None:
    """Show one task."""
    task = api.client.get(f"/api/v1/tasks/{task_id}")
    api.output.one({**task, "report": api.report_url(task["playbook"]["id"])}, SHOW_COLUMNS, data=task)


@app.command("delete")
@api_command()
def delete_task(api: Api, task_id: Annotated[int, typer.Argument(metavar="TASK_ID", help="Task to delete")]) -> None:
    """Delete one task and its results."""
    api.client.delete(f"/api/v1/tasks/{task_id}")
    message(f"Deleted task {task_id}")


AGGREGATES = ("action", "name", "path")


def task_metrics(tasks: list[dict[str, Any]], aggregate: str, *, long: bool) -> list[dict[str, Any]]:
    """Per ``aggregate`` value: how many tasks, their results, statuses and durations."""
    rows = []
    for first, members in grouped(tasks, aggregate, long=long):
        row: dict[str, Any] = {
            **first,
            "results": sum(t.get("items", {}).get("results", 0) for t in members),
            **dict.fromkeys(STATUSES, 0),
        }
        for task in members:
            if task.get("status") in STATUSES:
                row[task["status"]] += 1
        row["duration_total"], row["duration_avg"] = timing(
            sum(seconds(t.get("duration")) for t in members), len(members)
        )
        rows.append(row)
    return rows


@app.command("metrics")
@api_command(filters=_filters("tasks", presence=False), order="-started", limit=1000, what="tasks")
def metrics(
    api: Api,
    aggregate: Annotated[str, typer.Option("--aggregate", help=f"Group tasks by {', '.join(AGGREGATES)}")] = "action",
    long: Annotated[bool, typer.Option("--long", help="Do not truncate paths; add every status")] = False,
) -> None:
    """Counts and durations of tasks grouped by action, name or path."""
    if aggregate not in AGGREGATES:
        raise typer.BadParameter(f"{aggregate!r} is not one of {', '.join(AGGREGATES)}", param_hint="'--aggregate'")
    tasks = api.client.get("/api/v1/tasks", **api.query)["results"]
    columns = ["aggregate", "count", "results", "duration_total", "duration_avg"]
    if long:
        columns += ["completed", "failed", "running", "expired", "unknown"]
    api.output.rows(task_metrics(tasks, aggregate, long=long), columns)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="task")
