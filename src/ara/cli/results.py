"""``ara result list|show|delete``: what each task did on each host."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli.common import Resolver, env_flag, named
from ara.cli.errors import fail_usage
from ara.cli.options import Api, Filter, api_command, status_filter
from ara.cli.output import message

app = typer.Typer(help="Results: one task on one host.", no_args_is_help=True)

# ``changed`` and ``ignored`` are shown statuses, not stored ones: the CLI asks for ok+changed and
# failed+ignore_errors instead, which is what ARA's help text promises for ``--status``.
STATUSES = ("ok", "failed", "skipped", "unreachable", "changed", "ignored", "unknown")
_DERIVED = {"changed": {"status": "ok", "changed": True}, "ignored": {"status": "failed", "ignore_errors": True}}
FILTERS = [
    Filter("playbook", "--playbook", "Only results of this playbook id"),
    Filter("play", "--play", "Only results of this play id"),
    Filter("task", "--task", "Only results of this task id"),
    Filter("host", "--host", "Only results on this host id"),
    status_filter(STATUSES, "results"),
    Filter("changed", "--changed", "Only changed results", value=True),
]


def _query(api: Api, ignore_errors: bool) -> dict[str, Any]:
    query = dict(api.query)
    # As ARA's CLI does: without --ignore-errors, results whose errors were ignored are left out.
    query["ignore_errors"] = ignore_errors
    statuses = query.get("status") or []
    derived = [s for s in statuses if s in _DERIVED]
    if derived:
        if len(statuses) > 1:
            fail_usage(f"--status {derived[0]} cannot be combined with another --status")
        query.update(_DERIVED[derived[0]])
    return query


@app.command("list")
@api_command(filters=FILTERS, order="-started", limit=50, what="results")
def list_results(
    api: Api,
    ignore_errors: Annotated[
        bool,
        typer.Option(
            "--ignore-errors",
            help="Only results with 'ignore_errors: true' (without it they are left out, as ARA does)",
        ),
    ] = False,
    long: Annotated[
        bool, typer.Option("--long", help="Do not truncate paths; add changed, ignore_errors and play")
    ] = False,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Show names instead of ids (defaults to ARA_CLI_RESOLVE or False)")
    ] = False,
) -> None:
    """List results, most recent first."""
    results = api.client.get("/api/v1/results", **_query(api, ignore_errors))["results"]
    resolver = Resolver(api.client, long=long) if resolve or env_flag("ARA_CLI_RESOLVE") else None
    rows = []
    for result in results:
        row = dict(result)
        if resolver:
            row["playbook"] = resolver.playbook(result["playbook"])
            row["task"] = resolver.named("tasks", result["task"])
            row["host"] = resolver.named("hosts", result["host"])
            if long:
                row["play"] = resolver.named("plays", result["play"])
        rows.append(row)
    if long:
        columns: tuple[str, ...] = ("id", "status", "changed", "ignore_errors", "playbook", "play", "task", "host")
    else:
        columns = ("id", "status", "playbook", "task", "host")
    api.output.rows(rows, (*columns, "started", "duration"), data=results)


@app.command("show")
@api_command()
def show_result(
    api: Api,
    result_id: Annotated[int, typer.Argument(metavar="RESULT_ID", help="Result to show")],
    with_content: Annotated[bool, typer.Option("--with-content", help="Include the result's content")] = False,
) -> None:
    """Show one result (its content with --with-content)."""
    result = api.client.get(f"/api/v1/results/{result_id}")
    task = result.get("task") or {}
    file_id = task.get("file", {}).get("id") if isinstance(task.get("file"), dict) else task.get("file")
    row = {
        **result,
        "report": api.report_url(result["playbook"]["id"]),
        "ansible_version": result["playbook"].get("ansible_version"),
        "playbook": named(result.get("playbook")),
        "play": named(result.get("play")),
        "task": named(task),
        "host": named(result.get("host")),
        "path": f"({file_id}) {task.get('path')}:{task.get('lineno')}",
    }
    columns = ["id", "report", "status", "playbook", "play", "task", "host", "path", "started", "ended", "duration"]
    columns.append("ansible_version")
    if with_content:
        columns.append("content")
    else:
        result = {key: value for key, value in result.items() if key != "content"}
    api.output.one(row, columns, data=result)


@app.command("delete")
@api_command()
def delete_result(
    api: Api, result_id: Annotated[int, typer.Argument(metavar="RESULT_ID", help="Result to delete")]
) -> None:
    """Delete one result."""
    api.client.delete(f"/api/v1/results/{result_id}")
    message(f"Deleted result {result_id}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="result")
