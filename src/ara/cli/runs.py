"""``ara run start|list|show|status|approve|reject|cancel|rerun|artifacts|download``: playbook runs over the
Mission Control API (``/playbook/run...``, ``/artifacts/...``). The server's workers execute them.

``ara run APP.py …`` (ara-sdk's spelling) runs an app's agent instead: a first argument that is no subcommand
but a ``.py`` name or an existing path goes to ``ara run app APP.py …`` (``apps.run_app``). Subcommand names
win, so ``ara run start …`` is always the playbook run."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ara.cli.app_file import looks_like_app_file
from ara.cli.apps import run_app
from ara.cli.errors import fail, fail_usage
from ara.cli.options import Api, Filter, api_command, status_filter
from ara.cli.output import message
from ara.cli.resources import key_values, playbook_id_for
from ara.lifecycle.states import TERMINAL, RunStatus

APP_COMMAND = "app"


class RunGroup(TyperGroup):
    """``ara run`` whose first argument may be an app file instead of a subcommand."""

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and looks_like_app_file(args[0]):
            return APP_COMMAND, self.commands[APP_COMMAND], args
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=RunGroup,
    help="Playbook runs: start, approve, watch, cancel, and fetch their artifacts. "
    "'ara run APP.py [--agent A] [--message M]' runs an app's agent instead.",
    no_args_is_help=True,
)
app.command(APP_COMMAND)(run_app)

STATUSES = tuple(status.value for status in RunStatus)
COLUMNS = ("id", "playbook_id", "status", "created_by", "trigger", "created_at", "start_time", "end_time", "error")
RunId = Annotated[str, typer.Argument(metavar="RUN_ID", help="Playbook run id")]
Comment = Annotated[str, typer.Option("--comment", help="Why (kept with the decision)")]


def _started(api: Api, answer: dict[str, Any], wait: bool, wait_timeout: float) -> None:
    """Print the new run; with ``wait``, follow it to its end and exit 1 unless it completed."""
    if not wait:
        api.output.one(answer, ("run_id", "status", "starts_at"), data=answer)
        return
    deadline = time.monotonic() + wait_timeout
    run = api.client.get(f"/playbook/run/{answer['run_id']}")
    while run["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            fail(f"run {answer['run_id']} is still {run['status']} after {wait_timeout:g}s")
        time.sleep(0.2)
        run = api.client.get(f"/playbook/run/{answer['run_id']}")
    api.output.one(run, COLUMNS, data=run)
    if run["status"] != "completed":
        raise typer.Exit(1)


Wait = Annotated[bool, typer.Option("--wait", help="Follow the run to its end; exit 1 unless it completed")]
WaitTimeout = Annotated[float, typer.Option("--wait-timeout", help="Seconds --wait gives the run")]


@app.command("start")
@api_command(what="runs")
def start(
    api: Api,
    playbook: Annotated[str, typer.Argument(metavar="PLAYBOOK", help="Playbook definition id or name")],
    param: Annotated[list[str] | None, typer.Option("-p", "--param", help="NAME=VALUE; repeat for several")] = None,
    config_id: Annotated[str | None, typer.Option("--config-id", help="Run against this config item")] = None,
    check_id: Annotated[str | None, typer.Option("--check-id", help="Run against this check")] = None,
    component_id: Annotated[str | None, typer.Option("--component-id", help="Run against this component")] = None,
    wait: Wait = False,
    wait_timeout: WaitTimeout = 1800.0,
) -> None:
    """Start a run of a playbook with parameters (it may wait for approval first)."""
    body: dict[str, Any] = {"id": playbook_id_for(api.client, playbook), "params": key_values(param, "--param")}
    for key, value in (("config_id", config_id), ("check_id", check_id), ("component_id", component_id)):
        if value:
            body[key] = value
    _started(api, api.client.post("/playbook/run", **body), wait, wait_timeout)


@app.command("list")
@api_command(
    filters=[Filter("playbook_id", "--playbook", "Only runs of this playbook id"), status_filter(STATUSES, "runs")],
    what="runs",
)
def list_runs(api: Api) -> None:
    """List playbook runs, newest first (up to 500)."""
    found = api.client.get("/playbook/runs", **api.query)
    api.output.rows(found, COLUMNS, data=found)


@app.command("show")
@api_command()
def show(api: Api, run_id: RunId) -> None:
    """Show one run: status, times, parameters (secrets redacted) and the spec it ran."""
    run = api.client.get(f"/playbook/run/{run_id}")
    api.output.one(run, (*COLUMNS, "parameters", "records_playbook_id"), data=run)


@app.command("status")
@api_command()
def status(api: Api, run_id: RunId) -> None:
    """Show a run's actions, one row per attempt."""
    view = api.client.get(f"/playbook/run/{run_id}/status")
    columns = ("id", "name", "attempt", "status", "start_time", "end_time", "error")
    api.output.rows(view["actions"], columns, data=view)


def _decision(api: Api, verb: str, run_id: str, comment: str) -> None:
    answer = api.client.post(f"/playbook/run/{verb}/{run_id}", comment=comment)
    api.output.one(answer, ("run_id", "status"), data=answer)


@app.command("approve")
@api_command()
def approve(api: Api, run_id: RunId, comment: Comment = "") -> None:
    """Approve a run waiting for approval."""
    _decision(api, "approve", run_id, comment)


@app.command("reject")
@api_command()
def reject(api: Api, run_id: RunId, comment: Comment = "") -> None:
    """Reject a run waiting for approval; it ends cancelled."""
    _decision(api, "reject", run_id, comment)


@app.command("cancel")
@api_command()
def cancel(api: Api, run_id: RunId) -> None:
    """Cancel a run that has not finished (its running action's processes are killed)."""
    answer = api.client.post(f"/playbook/run/cancel/{run_id}")
    api.output.one(answer, ("run_id", "status"), data=answer)


@app.command("rerun")
@api_command()
def rerun(api: Api, run_id: RunId, wait: Wait = False, wait_timeout: WaitTimeout = 1800.0) -> None:
    """Start a new run of the same playbook with the same parameters."""
    _started(api, api.client.post(f"/playbook/run/rerun/{run_id}"), wait, wait_timeout)


@app.command("artifacts")
@api_command()
def artifacts(api: Api, run_id: RunId) -> None:
    """List the files a run's actions produced."""
    found = api.client.get(f"/artifacts/list/playbook_run/{run_id}")
    api.output.rows(found, ("id", "filename", "size", "content_type", "checksum", "path"), data=found)


@app.command("download")
@api_command()
def download(
    api: Api,
    artifact_id: Annotated[str, typer.Argument(metavar="ARTIFACT_ID", help="Artifact id (see 'ara run artifacts')")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here ('-' for stdout; default: its file name)")
    ] = None,
) -> None:
    """Download an artifact, byte for byte."""
    response = api.client.send("GET", f"/artifacts/download/{artifact_id}")
    if output is not None and str(output) == "-":
        sys.stdout.buffer.write(response.content)
        sys.stdout.buffer.flush()
        return
    target = output or Path(_filename(response.headers.get("content-disposition", "")) or artifact_id)
    if target.is_dir():
        target = target / (_filename(response.headers.get("content-disposition", "")) or artifact_id)
    if target.exists() and output is None:
        fail_usage(f"{target} exists: choose another name with -o")
    target.write_bytes(response.content)
    message(f"Saved {len(response.content)} bytes to {target}")


def _filename(disposition: str) -> str | None:
    """The server's suggested file name, reduced to a bare name (never a path)."""
    from email.message import Message

    header = Message()
    header["content-disposition"] = disposition
    name = header.get_filename()
    return Path(name).name if name else None


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="run")
