"""``ara host list|show|delete|metrics``: hosts of recorded playbooks, with their result counters."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli.common import Resolver, env_flag
from ara.cli.options import Api, Filter, api_command, presence_filters
from ara.cli.output import message

app = typer.Typer(help="Hosts of recorded playbooks.", no_args_is_help=True)

COUNTERS = ("changed", "failed", "ok", "skipped", "unreachable")


def _filters(what: str) -> list[Filter]:
    return [
        Filter("name", "--name", f"Only {what} with this name (full or partial)"),
        Filter("playbook", "--playbook", f"Only {what} of this playbook id"),
        *(f for counter in ("changed", "failed", "unreachable") for f in presence_filters(counter, counter, what)),
    ]


@app.command("list")
@api_command(filters=_filters("hosts"), order="-updated", limit=50, what="hosts")
def list_hosts(
    api: Api,
    latest: Annotated[bool, typer.Option("--latest", help="Only the latest report of each host")] = False,
    long: Annotated[bool, typer.Option("--long", help="Do not truncate paths")] = False,
    resolve: Annotated[
        bool, typer.Option("--resolve", help="Show names instead of ids (defaults to ARA_CLI_RESOLVE or False)")
    ] = False,
) -> None:
    """List hosts, most recently updated first."""
    if latest:
        # /latesthosts nests the host (and its playbook): flatten it to the /hosts shape.
        latest_hosts = api.client.get("/api/v1/latesthosts", **api.query)["results"]
        hosts = [{**h["host"], "playbook": h["host"]["playbook"]["id"]} for h in latest_hosts if h.get("host")]
    else:
        hosts = api.client.get("/api/v1/hosts", **api.query)["results"]
    resolver = Resolver(api.client, long=long) if resolve or env_flag("ARA_CLI_RESOLVE") else None
    rows = [{**h, "playbook": resolver.playbook(h["playbook"]) if resolver else h["playbook"]} for h in hosts]
    api.output.rows(rows, ("id", "name", "playbook", *COUNTERS, "updated"), data=hosts)


@app.command("show")
@api_command()
def show_host(
    api: Api,
    host_id: Annotated[int, typer.Argument(metavar="HOST_ID", help="Host to show")],
    with_facts: Annotated[bool, typer.Option("--with-facts", help="Include the host's facts")] = False,
) -> None:
    """Show one host (its facts with --with-facts)."""
    host = api.client.get(f"/api/v1/hosts/{host_id}")
    row = {**host, "report": api.report_url(host["playbook"]["id"])}
    columns = ["id", "report", "name", *COUNTERS, "updated"]
    if with_facts:
        columns.insert(-1, "facts")
    else:
        host = {key: value for key, value in host.items() if key != "facts"}
    api.output.one(row, columns, data=host)


@app.command("delete")
@api_command()
def delete_host(api: Api, host_id: Annotated[int, typer.Argument(metavar="HOST_ID", help="Host to delete")]) -> None:
    """Delete one host and its results."""
    api.client.delete(f"/api/v1/hosts/{host_id}")
    message(f"Deleted host {host_id}")


def host_metrics(hosts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per host name: how many reports, and the sums of their counters."""
    data: dict[str, dict[str, Any]] = {}
    for host in hosts:
        row = data.setdefault(host["name"], {"name": host["name"], "count": 0, **dict.fromkeys(COUNTERS, 0)})
        row["count"] += 1
        for counter in COUNTERS:
            row[counter] += host.get(counter) or 0
    return [data[name] for name in sorted(data)]


@app.command("metrics")
@api_command(filters=_filters("hosts"), order="-updated", limit=1000, what="hosts")
def metrics(api: Api) -> None:
    """Result counters summed per host name."""
    hosts = api.client.get("/api/v1/hosts", **api.query)["results"]
    api.output.rows(host_metrics(hosts), ("name", "count", *COUNTERS))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="host")
