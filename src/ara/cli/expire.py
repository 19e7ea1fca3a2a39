"""``ara expire``: mark playbooks, plays and tasks left ``running`` (an interrupted run) as ``expired``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ara.cli.common import ago
from ara.cli.options import Api, api_command
from ara.cli.output import message

ENDPOINTS = ("playbooks", "plays", "tasks")


@api_command(order="started", limit=200, what="objects per kind")
def expire(
    api: Api,
    hours: Annotated[
        int, typer.Option("--hours", min=0, help="Expire what has been running, untouched, for this many hours")
    ] = 24,
    confirm: Annotated[bool, typer.Option("--confirm", help="Really expire; without it only report")] = False,
) -> None:
    """Expire objects still running after --hours (only lists them unless --confirm is given)."""
    # Not updated for that long: a run still going keeps updating its playbook, plays and tasks.
    query = {**api.query, "status": "running", "updated_before": ago(hours=hours)}
    rows: list[dict[str, Any]] = []
    for endpoint in ENDPOINTS:
        found = api.client.get(f"/api/v1/{endpoint}", **query)
        message(f"Found {found['count']} {endpoint} running since more than {hours} hours")
        for obj in found["results"]:
            if confirm:
                api.client.patch(f"/api/v1/{endpoint}/{obj['id']}", status="expired")
            rows.append({"kind": endpoint[:-1], "id": obj["id"], "name": obj.get("name"), "updated": obj["updated"]})
    api.output.rows(rows, ("kind", "id", "name", "updated"))
    if confirm:
        message(f"{len(rows)} objects expired")
    else:
        message(f"--confirm was not given: nothing expired ({len(rows)} objects would be)")


def register(root: typer.Typer) -> None:
    root.command("expire")(expire)
