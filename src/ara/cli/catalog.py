"""``ara catalog list|show|add|delete KIND``: the config items, checks and components that playbook selectors,
typed parameters and templates see (``/api/v1/catalog/...``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from ara.cli.errors import fail_usage
from ara.cli.options import Api, api_command
from ara.cli.output import message
from ara.cli.resources import key_values

app = typer.Typer(help="The resource catalog: config items, checks and components.", no_args_is_help=True)

KINDS = {"config": "configs", "check": "checks", "component": "components"}
COLUMNS = ("id", "name", "type", "tags", "labels")


def _kind(value: str) -> str:
    plural = KINDS.get(value) or (value if value in KINDS.values() else None)
    if plural is None:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(KINDS)}")
    return plural


Kind = Annotated[str, typer.Argument(metavar="KIND", callback=_kind, help="config, check or component")]
ItemId = Annotated[str, typer.Argument(metavar="ID", help="Catalog item id")]
Pairs = Annotated[list[str] | None, typer.Option(help="NAME=VALUE; repeat for several")]


@app.command("list")
@api_command()
def list_items(api: Api, kind: Kind) -> None:
    """List the catalog's items of one kind."""
    items = api.client.get(f"/api/v1/catalog/{kind}")
    api.output.rows(items, COLUMNS, data=items)


@app.command("show")
@api_command()
def show_item(api: Api, kind: Kind, item_id: ItemId) -> None:
    """Show one catalog item with its properties."""
    item = api.client.get(f"/api/v1/catalog/{kind}/{item_id}")
    api.output.one(item, (*COLUMNS, "properties"), data=item)


@app.command("add")
@api_command()
def add_item(
    api: Api,
    kind: Kind,
    name: Annotated[str, typer.Option("--name", help="Item name")],
    type_: Annotated[str, typer.Option("--type", help="Item type (for example Kubernetes::Deployment)")] = "",
    tag: Pairs = None,
    label: Pairs = None,
    properties: Annotated[str | None, typer.Option("--properties", help="Free properties as a JSON object")] = None,
) -> None:
    """Add an item to the catalog."""
    body: dict[str, Any] = {
        "name": name,
        "type": type_,
        "tags": key_values(tag, "--tag"),
        "labels": key_values(label, "--label"),
    }
    if properties is not None:
        try:
            body["properties"] = json.loads(properties)
        except ValueError as exc:
            fail_usage(f"--properties is not JSON: {exc}")
    item = api.client.post(f"/api/v1/catalog/{kind}", **body)
    api.output.one(item, (*COLUMNS, "properties"), data=item)


@app.command("delete")
@api_command()
def delete_item(api: Api, kind: Kind, item_id: ItemId) -> None:
    """Delete a catalog item."""
    api.client.delete(f"/api/v1/catalog/{kind}/{item_id}")
    message(f"Deleted {kind[:-1]} {item_id}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="catalog")
