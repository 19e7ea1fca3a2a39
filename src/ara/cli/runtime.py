"""``ara start|status|stop``, ``ara session …`` and ``ara runtime …``: the user's agent session, spelled as ara-sdk's
CLI spells it (0.1.46's commands plus 0.1.58's ``session exec|keepalive``, ``tools available`` and ``files``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from ara.cli.errors import fail
from ara.cli.sdk_calls import parse_pairs, print_json, runtime_client
from ara_sdk import AraRuntimeClient, AraSdkError

app = typer.Typer(help="The agent runtime: your session's tools, skills, files, control channel.", no_args_is_help=True)
session_app = typer.Typer(help="Your runtime session: start, status, stop, exec, keepalive.", no_args_is_help=True)
skills_app = typer.Typer(help="Skills the session offers.", no_args_is_help=True)
tools_app = typer.Typer(help="Tools the session offers, and running one.", no_args_is_help=True)
files_app = typer.Typer(help="Files of your active session (no --session).", no_args_is_help=True)
control_app = typer.Typer(help="Actions registered by a connected browser or app.", no_args_is_help=True)

KINDS = ("all", "builtin", "app", "connector")
Session = Annotated[str, typer.Option("--session", help="Session id (sess-…, from 'ara start')")]
Agent = Annotated[str, typer.Option("--agent", help="Agent id (its tools and skills)")]
Args = Annotated[list[str] | None, typer.Option("--arg", help="KEY=VALUE (sent as a string); repeat for several")]


def _kind(value: str) -> str:
    if value not in KINDS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(KINDS)}")
    return value


Kind = Annotated[str, typer.Option("--kind", callback=_kind, help=f"One of {', '.join(KINDS)}")]


def _show(call: Callable[[AraRuntimeClient], Any]) -> None:
    with runtime_client() as client:
        print_json(call(client))


# -- session ------------------------------------------------------------------------------------------------
def start() -> None:
    """Start your runtime session (or answer the one already running)."""
    _show(lambda c: c.session_start())


def status() -> None:
    """Show your runtime session."""
    _show(lambda c: c.session_status())


def stop() -> None:
    """Stop your runtime session (its files are kept)."""
    _show(lambda c: c.session_stop())


@session_app.command("exec")
def session_exec(
    command: Annotated[str, typer.Option("--command", help="Shell command line run in the session")],
    timeout_seconds: Annotated[int, typer.Option("--timeout-seconds", help="5 to 600")] = 90,
) -> None:
    """Run a command line in your session's sandbox."""
    _show(lambda c: c.session_exec(command=command, timeout_seconds=timeout_seconds))


@session_app.command("keepalive")
def session_keepalive(
    interval_seconds: Annotated[int, typer.Option("--interval-seconds", min=1, max=600)] = 30,
    iterations: Annotated[int, typer.Option("--iterations", min=0, help="Heartbeats to send (0: forever)")] = 0,
    max_failures: Annotated[int, typer.Option("--max-failures", min=1, max=20)] = 3,
) -> None:
    """Send heartbeats so the idle timer does not stop your session; exit 2 after --max-failures in a row."""
    sent = failures = 0
    with runtime_client() as client:
        try:
            while iterations == 0 or sent < iterations:
                sent += 1
                now = datetime.now(UTC).isoformat()
                row: dict[str, Any] = {"event": "heartbeat", "iteration": sent, "timestamp": now}
                try:
                    answer = client.session_heartbeat()
                    ok = bool(answer.get("ok"))
                    row |= {"ok": ok, "response": answer}
                except AraSdkError as exc:
                    ok = False
                    row |= {"ok": False, "error": str(exc)}
                failures = 0 if ok else failures + 1
                print_json(row | {"consecutive_failures": failures})
                if failures >= max_failures:
                    fail(f"session keepalive: {failures} heartbeats failed in a row")
                if iterations == 0 or sent < iterations:
                    time.sleep(interval_seconds)
        except KeyboardInterrupt:
            print_json({"ok": True, "event": "summary", "status": "interrupted", "iterations": sent})
            return
    print_json({"ok": True, "event": "summary", "status": "completed", "iterations": sent})


# -- runtime ------------------------------------------------------------------------------------------------
@app.command("capabilities")
def capabilities(session: Session, agent: Agent = "") -> None:
    """What the session can do: tools, skills, sandbox."""
    _show(lambda c: c.capabilities(session_id=session, agent_id=agent))


@skills_app.command("list")
def skills_list(session: Session) -> None:
    """The session's skills (workspace/skills, workspace/self-skills)."""
    _show(lambda c: c.skills(session_id=session))


@tools_app.command("list")
def tools_list(session: Session, kind: Kind = "all", agent: Agent = "") -> None:
    """The session's tools."""
    _show(lambda c: c.tools(session_id=session, kind=kind, agent_id=agent))


tools_app.command("available", help="The session's tools (0.1.58's name for 'list').")(tools_list)


@tools_app.command("execute")
def tools_execute(
    session: Session,
    tool: Annotated[str, typer.Option("--tool", help="Tool name (read_file, write_file, exec, ...)")],
    agent: Agent = "",
    arg: Args = None,
) -> None:
    """Run one tool in the session's sandbox."""
    args = parse_pairs(arg)
    _show(lambda c: c.execute_tool(session_id=session, tool_name=tool, args=args, agent_id=agent))


@control_app.command("actions")
def control_actions(session: Session) -> None:
    """Actions registered on the session's control channel."""
    _show(lambda c: c.control_actions(session_id=session))


@control_app.command("call")
def control_call(
    session: Session,
    action: Annotated[str, typer.Option("--action", help="Action name")],
    arg: Args = None,
    timeout_ms: Annotated[int, typer.Option("--timeout-ms", min=1, help="How long to wait for the answer")] = 8000,
) -> None:
    """Call an action on the connected browser or app and print its answer."""
    args = parse_pairs(arg)
    _show(lambda c: c.control_call(session_id=session, action=action, args=args, timeout_ms=timeout_ms))


# -- files (0.1.58) -----------------------------------------------------------------------------------------
PathOption = Annotated[str, typer.Option("--path", help="Workspace-relative path or absolute sandbox path")]


@files_app.command("list")
def files_list(path: PathOption = "") -> None:
    """List a directory of the workspace."""
    _show(lambda c: c.session_files_list(path=path))


@files_app.command("read")
def files_read(path: PathOption) -> None:
    """Read a file of the workspace."""
    _show(lambda c: c.session_file_read(path=path))


@files_app.command("write")
def files_write(
    path: PathOption,
    content: Annotated[str, typer.Option("--content", help="Text content (ignored with --content-file)")] = "",
    content_file: Annotated[Path | None, typer.Option("--content-file", help="Local text file to send")] = None,
) -> None:
    """Write a file of the workspace."""
    if content_file is not None:
        try:
            content = content_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--content-file {content_file}: {exc}")
    _show(lambda c: c.session_file_write(path=path, content=content))


@files_app.command("upload")
def files_upload(
    local: Annotated[Path, typer.Option("--local", help="Local file to send")],
    path: Annotated[str, typer.Option("--path", help="Where in the session (default: workspace/<its name>)")] = "",
) -> None:
    """Upload a local file into the workspace."""
    _show(lambda c: c.session_file_upload(local_path=str(local), remote_path=path))


@files_app.command("download")
def files_download(
    path: PathOption,
    output: Annotated[Path | None, typer.Option("--output", help="Local file (default: ./<its name>)")] = None,
) -> None:
    """Download a file of the workspace."""
    with runtime_client() as client:
        content, name, remote = client.session_file_download(path=path)
        target = output if output is not None else Path.cwd() / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        except OSError as exc:
            fail(f"cannot write {target}: {exc.strerror}")
    print_json({"ok": True, "remote_path": remote, "filename": name, "bytes": len(content), "output_path": str(target)})


def register(root: typer.Typer) -> None:
    for name, command in (("start", start), ("status", status), ("stop", stop)):
        root.command(name)(command)
        session_app.command(name)(command)
    app.add_typer(session_app, name="session")
    app.add_typer(skills_app, name="skills")
    app.add_typer(tools_app, name="tools")
    app.add_typer(files_app, name="files")
    app.add_typer(control_app, name="control")
    root.add_typer(app, name="runtime")
    root.add_typer(session_app, name="session")  # 0.1.46's alias of ``ara runtime session``
