"""``ara deploy|up|run|run-async|run-status|events|logs|setup|setup-auth|invite APP.py …``: one app file's app on
the server, spelled as ara-sdk's CLI spells it (0.1.46's options), through ``ara_sdk.AraClient``.

Each command runs the app file locally to get its manifest (``app_file``), finds the app by slug, then makes the
one call. Answers are printed as JSON (indent 2), as ara-sdk prints them; failures are one line and exit 2.
``ara run APP.py`` lives in the ``ara run`` group beside the playbook-run commands (``runs.py`` routes a first
argument that is a ``.py`` file or an existing path here). ``ara deploy`` remembers the new runtime key for the
app's slug in ``~/.ara/.runtime-keys.local`` (as 0.1.58 does), so later commands need no ``ARA_RUNTIME_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ara.cli import app_logs
from ara.cli.app_file import AppFileError, load_manifest
from ara.cli.errors import fail
from ara.cli.sdk_calls import print_json, sdk_errors
from ara.lifecycle.states import TERMINAL, RunStatus
from ara_sdk import run_inputs, runtime_keys
from ara_sdk.client import AraClient
from ara_sdk.errors import CredentialsError

ROLES = ("viewer", "operator", "editor")
PANEL = "Apps (ara run APP.py runs an agent)"
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")

Script = Annotated[Path, typer.Argument(metavar="APP.py", help="The app file (it runs here to build the manifest)")]
Agent = Annotated[str, typer.Option("--agent", help="Agent id (default: the app's default agent)")]
Message = Annotated[str, typer.Option("--message", help="The message for the agent")]
Inputs = Annotated[list[str] | None, typer.Option("--input", help="KEY=VALUE input (a string); repeat for several")]
InputJson = Annotated[str, typer.Option("--input-json", help="The input as a JSON object, or @file.json")]
RuntimeKey = Annotated[str, typer.Option("--runtime-key", help="Runtime key (default: ARA_RUNTIME_KEY, then deploy's)")]
HeaderKey = Annotated[str, typer.Option("--app-header-key", help="App header key (default: ARA_APP_HEADER_KEY)")]


def _flag(name: str) -> Callable[[str], str]:
    """``--activate true|false`` as ara-sdk spells it (a value, not a ``--no-`` flag)."""

    def parse(value: str) -> str:
        if value.strip().lower() not in _TRUE + _FALSE:
            raise typer.BadParameter(f"{value!r} is not true or false", param_hint=f"'{name}'")
        return value.strip().lower()

    return parse


def _true(value: str) -> bool:
    return value in _TRUE


@contextmanager
def app_client(script: Path) -> Iterator[AraClient]:
    """The client of the file's app, with every failure (the file's own included) as one line and exit 2."""
    with sdk_errors():
        try:
            manifest = load_manifest(script)
        except AppFileError as exc:
            fail(str(exc))
        client = AraClient.from_env(manifest=manifest, cwd=os.getcwd())
        try:
            yield client
        finally:
            client.close()


def _run_id_of(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    run = answer.get("run") if isinstance(answer.get("run"), dict) else answer
    return str(run.get("run_id") or "")


def deploy(
    script: Script,
    activate: Annotated[str, typer.Option("--activate", callback=_flag("--activate"), help="true|false")] = "true",
    key_name: Annotated[str, typer.Option("--key-name", help="Name of the new runtime key")] = "",
    rpm: Annotated[int, typer.Option("--rpm", min=1, help="The runtime key's requests per minute")] = 60,
    warm: Annotated[str, typer.Option("--warm", callback=_flag("--warm"), help="true: prepare a sandbox")] = "false",
    warm_agent: Annotated[str, typer.Option("--warm-agent", help="Agent the warm-up prepares")] = "",
    on_existing: Annotated[str, typer.Option("--on-existing", help="update|error when the app exists")] = "update",
) -> None:
    """Create or update the app from the file, sync its secrets, mint a runtime key (saved for later commands)."""
    if on_existing not in ("update", "error"):
        raise typer.BadParameter(f"{on_existing!r} is not update or error", param_hint="'--on-existing'")
    with app_client(script) as client:
        out = client.deploy(
            activate=_true(activate),
            key_name=key_name or None,
            key_rpm=rpm,
            warm=_true(warm),
            warm_agent_id=warm_agent or None,
            on_existing=on_existing,
        )
        try:
            saved = str(runtime_keys.save_key(client.slug, out["runtime_key"]))
        except CredentialsError as exc:  # the key is printed below all the same: never lose it
            saved = ""
            typer.echo(f"Warning: the runtime key was not saved: {exc.message}", err=True)
        print_json(
            {
                "ok": True,
                "app_id": out["app_id"],
                "slug": out["slug"],
                "runtime_key_created": out["runtime_key_created"],
                "runtime_key": out["runtime_key"],
                "runtime_key_file": saved,
                "warmup_run_id": _run_id_of(out["warmup"]),
                "secrets": out["secrets"],
                "next": {"setup_auth_command": f"ara setup-auth {script}"},
            }
        )


def run_app(
    script: Script,
    agent: Agent = "",
    message: Message = "",
    input: Inputs = None,
    input_json: InputJson = "",
    runtime_key: RuntimeKey = "",
    app_header_key: HeaderKey = "",
) -> None:
    """Run an app's agent and wait for its answer (exit 1 when the run failed): ara run APP.py [--message M]."""
    with app_client(script) as client:
        body = run_inputs.sync_input(run_inputs.payload(input or [], input_json, message), agent or None)
        answer = client.run(
            agent_id=agent or None,
            input_payload=body,
            runtime_key=runtime_key or None,
            app_header_key=app_header_key or None,
        )
    print_json(answer)
    status = answer.get("status") if isinstance(answer, dict) else None
    if status in TERMINAL and status != RunStatus.COMPLETED:
        raise typer.Exit(1)


def run_async(
    script: Script,
    agent: Agent = "",
    message: Message = "",
    input: Inputs = None,
    input_json: InputJson = "",
    response_mode: Annotated[str, typer.Option("--response-mode", help="poll|webhook")] = "poll",
    callback_url: Annotated[str, typer.Option("--callback-url", help="Webhook mode: where the result goes")] = "",
    callback_secret: Annotated[str, typer.Option("--callback-secret", help="Webhook mode: the signing secret")] = "",
    callback_event: Annotated[
        list[str] | None, typer.Option("--callback-event", help="Events to deliver (default run.completed, run.failed)")
    ] = None,
    run_id: Annotated[str, typer.Option("--run-id", help="The run's id (default: a new one)")] = "",
    idempotency_key: Annotated[str, typer.Option("--idempotency-key", help="Default: run-<run id>")] = "",
    runtime_key: RuntimeKey = "",
    app_header_key: HeaderKey = "",
) -> None:
    """Start a run and answer at once; poll it with run-status, or get the result POSTed (--response-mode webhook)."""
    if response_mode not in ("poll", "webhook"):
        raise typer.BadParameter(f"{response_mode!r} is not poll or webhook", param_hint="'--response-mode'")
    with app_client(script) as client:
        body = run_inputs.payload(input or [], input_json, message)
        rid, key = run_inputs.async_ids(run_id, idempotency_key)
        hook = None
        if response_mode == "webhook":
            hook = run_inputs.callback(callback_url, callback_secret, callback_event or [])
        print_json(
            client.run_async(
                agent_id=agent or None,
                input_payload=body,
                response_mode=response_mode,
                callback=hook,
                run_id=rid,
                idempotency_key=key,
                runtime_key=runtime_key or None,
                app_header_key=app_header_key or None,
            )
        )


def run_status(
    script: Script,
    run_id: Annotated[str, typer.Option("--run-id", help="The run's id (from run or run-async)")],
    runtime_key: RuntimeKey = "",
    app_header_key: HeaderKey = "",
) -> None:
    """Show a run: status and, once it ended, its output."""
    with app_client(script) as client:
        print_json(
            client.run_status(run_id=run_id, runtime_key=runtime_key or None, app_header_key=app_header_key or None)
        )


def events(
    script: Script,
    agent: Agent = "",
    event_type: Annotated[str, typer.Option("--event-type")] = "webhook.message.received",
    channel: Annotated[str, typer.Option("--channel")] = "webhook",
    source: Annotated[str, typer.Option("--source")] = "webhook",
    message: Message = "",
    input: Annotated[list[str] | None, typer.Option("--input", help="KEY=VALUE of the payload; repeat")] = None,
    metadata: Annotated[list[str] | None, typer.Option("--metadata", help="KEY=VALUE metadata; repeat")] = None,
    idempotency_key: Annotated[str, typer.Option("--idempotency-key", help="Same key, same run (default: new)")] = "",
    runtime_key: RuntimeKey = "",
    app_header_key: HeaderKey = "",
) -> None:
    """Send an event to the app; one run per idempotency key."""
    with app_client(script) as client:
        print_json(
            client.events(
                agent_id=agent or None,
                event_type=event_type,
                channel=channel,
                source=source,
                message=message,
                payload=run_inputs.parse_pairs(input or []),
                metadata=run_inputs.parse_pairs(metadata or [], "--metadata"),
                idempotency_key=run_inputs.event_idempotency_key(event_type, idempotency_key),
                runtime_key=runtime_key or None,
                app_header_key=app_header_key or None,
            )
        )


def logs(
    script: Script,
    run_id: Annotated[str, typer.Option("--run-id", help="Only this run's rows")] = "",
    runtime_key: RuntimeKey = "",
    app_header_key: HeaderKey = "",
) -> None:
    """Tail the app's live log (the last minute first) until Ctrl-C."""
    with app_client(script) as client:
        app_logs.tail(client, run_id=run_id, runtime_key=runtime_key or None, app_header_key=app_header_key or None)


def setup(script: Script) -> None:
    """Show the app's endpoint URLs and the secrets the server minted for them."""
    with app_client(script) as client:
        print_json(client.setup())


def setup_auth(
    script: Script,
    x_key_name: Annotated[str, typer.Option("--x-key-name", help="Name of a new app header key")] = "",
    x_key_rpm: Annotated[int, typer.Option("--x-key-rpm", min=1, help="Its requests per minute")] = 30,
    ensure_runtime_key: Annotated[
        str, typer.Option("--ensure-runtime-key", callback=_flag("--ensure-runtime-key"), help="true|false")
    ] = "true",
) -> None:
    """Make sure the app has a runtime key and an app header key (X-Ara-App-Key) for you; prints both."""
    with app_client(script) as client:
        print_json(
            client.setup_auth(
                x_key_name=x_key_name or None, x_key_rpm=x_key_rpm, ensure_runtime_key=_true(ensure_runtime_key)
            )
        )


def invite(
    script: Script,
    email: Annotated[str, typer.Option("--email", help="Who to invite")],
    role: Annotated[str, typer.Option("--role", help="|".join(ROLES))] = "viewer",
    expires_hours: Annotated[int, typer.Option("--expires-hours", min=1)] = 24 * 7,
) -> None:
    """Invite someone to the app with a role."""
    if role not in ROLES:
        raise typer.BadParameter(f"{role!r} is not one of {', '.join(ROLES)}", param_hint="'--role'")
    with app_client(script) as client:
        print_json(client.invite(email=email, role=role, expires_in_hours=expires_hours))


def register(root: typer.Typer) -> None:
    """The top-level app commands (``ara run APP.py`` is registered by ``runs.py``)."""
    root.command("deploy", rich_help_panel=PANEL)(deploy)
    root.command("up", help="Same as deploy (ara-sdk's alias).", rich_help_panel=PANEL)(deploy)
    for name, command in (
        ("run-async", run_async),
        ("run-status", run_status),
        ("events", events),
        ("logs", logs),
        ("setup", setup),
        ("setup-auth", setup_auth),
        ("invite", invite),
    ):
        root.command(name, rich_help_panel=PANEL)(command)
