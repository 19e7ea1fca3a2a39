"""``ara server``: run the API server (migrations first)."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import typer

from ara.cli import heap
from ara.settings import get_settings


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        if host == "localhost":
            return True
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def serve(
    host: str = typer.Option(None, help="Address to listen on (default 127.0.0.1, or ARA_SERVER__HOST)."),
    port: int = typer.Option(None, help="Port to listen on (default 8000, or ARA_SERVER__PORT)."),
    allow_open_writes: bool = typer.Option(
        False, "--allow-open-writes", help="Listen beyond loopback even though writes need no login."
    ),
) -> None:
    """Serve the API and UI (SQLite under ~/.ara/server unless ARA_DATABASE__URL says otherwise)."""
    import uvicorn

    from ara.db.procrastinate_schema import SchemaMismatch
    from ara.errors import ConfigError
    from ara.playbooks.artifact_url import open_store
    from ara.runtime.sandbox.select import sandbox_warning
    from ara.server.app import create_app

    settings = get_settings()
    host = host or settings.server.host
    port = port or settings.server.port
    # What the server is told to listen on is its own URL from now on (an app tool's ``ARA_API_BASE_URL``).
    settings = settings.model_copy(update={"server": settings.server.model_copy(update={"host": host, "port": port})})
    if not is_loopback(host) and not settings.auth.write_login_required:
        if not (allow_open_writes or settings.server.allow_open_writes):
            typer.echo(
                f"Refusing to listen on {host}: anyone who can reach it could write records. "
                "Set ARA_AUTH__WRITE_LOGIN_REQUIRED=true (and create a user with 'ara user add'), "
                "or pass --allow-open-writes if this is what you want.",
                err=True,
            )
            raise typer.Exit(2)
    open_store(settings)  # a bad ARA_ENGINE__ARTIFACTS_URL stops the start (exit 2), not a run's first artifact
    try:
        sandbox_notice = sandbox_warning(settings.runtime)  # the agent runtime's weaker fallback is announced
    except ConfigError as exc:
        typer.echo(f"Refusing to start: {exc.message}", err=True)
        raise typer.Exit(2) from None
    if sandbox_notice:
        typer.echo(sandbox_notice, err=True)
    try:
        app = create_app(settings)
    except SchemaMismatch as exc:
        typer.echo(f"Refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    if app.state.ara.engine.dialect.name == "sqlite" and settings.engine.workers < 1:
        typer.echo(
            "ARA_ENGINE__WORKERS=0 on the embedded SQLite database: playbook runs will be stored but not executed "
            "(only PostgreSQL shares runs with 'ara worker' processes).",
            err=True,
        )
    notice = bootstrap_admin(app, loopback=is_loopback(host))
    if notice:
        typer.echo(notice, err=True)
    log_requests()
    heap.settle()
    typer.echo(f"Ara serving on http://{host}:{port} (database: {app.state.ara.engine.url.render_as_string()})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        access_log=False,  # ours instead (ara.server.metrics_http): without query strings
        timeout_keep_alive=max(1, round(settings.server.keep_alive_seconds)),
    )


def log_requests() -> None:
    """One line per request on stderr, as uvicorn's access log looked (``INFO:     client - "GET /path HTTP/1.1"
    200``), written by our request middleware."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
    access = logging.getLogger("ara.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def bootstrap_admin(app: Any, *, loopback: bool) -> str | None:
    """admin@local gets password 'admin' only on loopback; elsewhere ARA_AUTH__ADMIN_PASSWORD must be set."""
    from ara.db.session import unit_of_work
    from ara.errors import ValidationFailed
    from ara.users.service import ensure_bootstrap_admin

    state = app.state.ara
    try:
        with unit_of_work(state.writer) as session:
            return ensure_bootstrap_admin(session, loopback=loopback, password=state.settings.auth.admin_password)
    except ValidationFailed as exc:
        typer.echo(f"Refusing to start: {exc.message}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.command("server")(serve)
