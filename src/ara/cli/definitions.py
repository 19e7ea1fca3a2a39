"""``ara playbook apply -f FILE`` and ``ara definition list|show|delete|params|grant|revoke|permissions``:
playbook definitions (what runs), kept apart from ``ara playbook list`` (what was recorded).

``apply`` reads the Mission Control CRD form (``kind: Playbook``, ``metadata.name``, ``spec``) or ``{name,
spec}``, one or several YAML documents per file, and creates each playbook or replaces the one with the same
name, so applying a file twice changes nothing but ``updated_at``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ara.cli import playbooks
from ara.cli.errors import fail_usage
from ara.cli.options import Api, Filter, api_command
from ara.cli.output import message
from ara.cli.resources import key_values, playbook_id_for

app = typer.Typer(
    help="Playbook definitions: what can be run (create or update them with 'ara playbook apply -f FILE').",
    no_args_is_help=True,
)

COLUMNS = ("id", "name", "title", "category", "source", "created_by", "updated_at")
LIST_FILTERS = [
    Filter("config_id", "--config-id", "Only playbooks whose selectors match this config item"),
    Filter("check_id", "--check-id", "Only playbooks whose selectors match this check"),
    Filter("component_id", "--component-id", "Only playbooks whose selectors match this component"),
]
PlaybookRef = Annotated[str, typer.Argument(metavar="PLAYBOOK", help="Playbook definition id or name")]
Files = Annotated[
    list[Path],
    typer.Option("-f", "--filename", help="YAML or JSON file with one or more playbooks ('-' for stdin); repeat"),
]


def read_documents(path: Path) -> list[Any]:
    """Every non-empty YAML document of ``path`` (JSON is YAML too)."""
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        fail_usage(f"cannot read {path}: {exc.strerror or exc}")
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        fail_usage(f"{path} is not valid YAML: {' '.join(str(exc).split())}")
    if not documents:
        fail_usage(f"{path} holds no playbook")
    for document in documents:
        if not isinstance(document, dict):
            kind = type(document).__name__
            fail_usage(f"{path}: a playbook is a mapping (kind: Playbook, metadata, spec), not a {kind}")
    return documents


@api_command(what="playbook definitions", format_flags=("-o", "--format"))
def apply(api: Api, filenames: Files) -> None:
    """Create or update playbook definitions from files (by name)."""
    documents = [(path, document) for path in filenames for document in read_documents(path)]
    rows = []
    for path, document in documents:
        response = api.client.send("POST", "/playbook", params={"upsert": "true", "source": "cli"}, body=document)
        saved = response.json()
        rows.append({**saved, "action": "created" if response.status_code == 201 else "updated", "file": str(path)})
    api.output.rows(rows, ("id", "name", "action", "file"), data=[{k: r[k] for k in r if k != "file"} for r in rows])


@app.command("list")
@api_command(filters=LIST_FILTERS, what="playbook definitions")
def list_definitions(api: Api) -> None:
    """List playbook definitions, all of them or those offered for one resource."""
    found = api.client.get("/playbook/list", **api.query)
    api.output.rows(found, COLUMNS, data=found)


@app.command("show")
@api_command()
def show_definition(api: Api, playbook: PlaybookRef) -> None:
    """Show one playbook definition with its spec (secrets redacted)."""
    definition = api.client.get(f"/playbook/{playbook_id_for(api.client, playbook)}")
    api.output.one(definition, (*COLUMNS, "description", "parameters", "spec"), data=definition)


@app.command("delete")
@api_command()
def delete_definition(api: Api, playbook: PlaybookRef) -> None:
    """Delete a playbook definition (its runs stay, and keep the spec they ran)."""
    playbook_id = playbook_id_for(api.client, playbook)
    api.client.delete(f"/playbook/{playbook_id}")
    message(f"Deleted playbook definition {playbook_id}")


Params = Annotated[
    list[str] | None, typer.Option("-p", "--param", help="A parameter as NAME=VALUE; repeat for several")
]


@app.command("params")
@api_command()
def params_form(api: Api, playbook: PlaybookRef, param: Params = None) -> None:
    """Show a playbook's parameters with their defaults rendered (what a run form would offer)."""
    playbook_id = playbook_id_for(api.client, playbook)
    form = api.client.post(f"/playbook/{playbook_id}/params", params=key_values(param, "--param"))
    fields = form.get("params", [])
    api.output.rows(fields, ("name", "label", "type", "required", "default"), data=fields)


PERMISSION_COLUMNS = ("id", "principal", "action")


@app.command("permissions")
@api_command()
def list_permissions(api: Api, playbook: PlaybookRef) -> None:
    """List who was granted run, approve or cancel on a playbook beyond their role."""
    grants = api.client.get(f"/playbook/{playbook_id_for(api.client, playbook)}/permissions")
    api.output.rows(grants, PERMISSION_COLUMNS, data=grants)


@app.command("grant")
@api_command()
def grant(
    api: Api,
    playbook: PlaybookRef,
    principal: Annotated[str, typer.Argument(help="A username, team:NAME or role:NAME")],
    action: Annotated[str, typer.Argument(help="run, approve or cancel")],
) -> None:
    """Let a user, team or role run, approve or cancel one playbook."""
    playbook_id = playbook_id_for(api.client, playbook)
    row = api.client.post(f"/playbook/{playbook_id}/permissions", principal=principal, action=action)
    api.output.one(row, PERMISSION_COLUMNS, data=row)


@app.command("revoke")
@api_command()
def revoke(
    api: Api, playbook: PlaybookRef, permission_id: Annotated[str, typer.Argument(help="Grant id (see 'permissions')")]
) -> None:
    """Take a grant back."""
    playbook_id = playbook_id_for(api.client, playbook)
    api.client.delete(f"/playbook/{playbook_id}/permissions/{permission_id}")
    message(f"Revoked permission {permission_id}")


def register(root: typer.Typer) -> None:
    playbooks.app.command("apply")(apply)
    root.add_typer(app, name="definition")
