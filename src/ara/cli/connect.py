"""``ara connect "ara://connect?token=…"`` and ``ara ssh-proxy``: an SSH shell in your runtime session, set up as
ara-sdk's commands set it up (same files, same ``Host ara-personal`` entry), with errors as one line, exit 2.

``connect`` spends the one-time token with your key pair's public half (retrying while the server answers 503,
as the SDK does) and writes the proxy token and the host entry; ``ssh ara-personal`` then runs ``ara ssh-proxy``
as its ``ProxyCommand``, which carries the SSH connection over the server's ``/session/ssh/proxy`` WebSocket.
"""

from __future__ import annotations

import shlex
import socket
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Annotated, Any

import typer

from ara.cli.errors import fail
from ara.cli.sdk_calls import print_json, sdk_errors
from ara.cli.ssh_bridge import proxy
from ara.cli.ssh_files import (
    ensure_keypair,
    quote_config_path,
    upsert_host_block,
    write_proxy_token,
)
from ara_sdk import AraApiError, AraConnectionError, AraSdkError, config
from ara_sdk.http import Http

HOST_ALIAS = "ara-personal"
WORKSPACE = "/root/.ara/workspace"
# The SDK's schedule: the server may still be starting the session's SSH side.
RETRY_DELAYS_SECONDS = (0.0, 4.0, 10.0, 20.0)
EXCHANGE_TIMEOUT_SECONDS = 180.0
NOT_LOGGED_IN = "not logged in: run `ara auth login --api-key KEY` or set ARA_API_KEY"


def connect_token(uri: str) -> str:
    """The token of ``ara://connect?token=T`` (a bare token is taken as it is)."""
    value = uri.strip()
    if not value:
        raise AraSdkError("give the connect URI (ara://connect?token=…) from POST /session/connect/token")
    if "://" not in value:
        return value
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme != "ara":
        raise AraSdkError(f"a connect URI starts with ara://, not {parsed.scheme}://")
    token = (urllib.parse.parse_qs(parsed.query).get("token") or [""])[0].strip()
    if not token:
        raise AraSdkError("the connect URI has no token (ara://connect?token=…)")
    return token


def proxy_command(token_file: Path) -> str:
    """``ara ssh-proxy`` of this installation without the CLI around it (``ara.cli.ssh_bridge``): the Python
    running now, so another ``ara`` earlier on PATH (the SDK's, say), or none, does not matter."""
    return shlex.join([sys.executable, "-m", "ara.cli.ssh_bridge", "--token-file", str(token_file)])


def _exchange(http: Http, body: dict[str, str]) -> dict[str, Any]:
    for attempt, delay in enumerate(RETRY_DELAYS_SECONDS):
        time.sleep(delay)
        try:
            answer = http.request("POST", "/session/connect/exchange", body=body, timeout=EXCHANGE_TIMEOUT_SECONDS)
        except (AraApiError, AraConnectionError) as exc:
            transient = isinstance(exc, AraConnectionError) or exc.status == 503
            if transient and attempt < len(RETRY_DELAYS_SECONDS) - 1:
                continue
            raise
        if not isinstance(answer, dict) or not str(answer.get("proxy_token") or "").strip():
            raise AraSdkError("the server's answer has no proxy_token")
        return answer
    raise AraSdkError("the exchange failed")  # not reached: the last attempt returns or raises


def connect(
    uri: Annotated[str, typer.Argument(help='The link from POST /session/connect/token: "ara://connect?token=…"')],
    key_comment: Annotated[str, typer.Option("--key-comment", help="A label for your key on the server")] = "",
) -> None:
    """Set up `ssh ara-personal` into your runtime session (a key pair, the proxy token, a ~/.ssh/config entry)."""
    with sdk_errors():
        token = connect_token(uri)
        key = config.resolve_user_key()
        if not key:
            fail(NOT_LOGGED_IN)
        private_key, public_key = ensure_keypair()
        http = Http(config.resolve_api_base_url(), key)
        try:
            body = {"token": token, "public_key": public_key, "key_comment": key_comment or _hostname()}
            exchange = _exchange(http, body)
        finally:
            http.close()
        alias = str(exchange.get("host_alias") or HOST_ALIAS).strip() or HOST_ALIAS
        token_file = write_proxy_token(str(exchange["proxy_token"]))
        block = "\n".join(
            [
                f"Host {alias}",
                "  HostName 127.0.0.1",
                "  Port 22",
                "  User root",
                f"  IdentityFile {quote_config_path(private_key)}",
                "  IdentitiesOnly yes",
                # The host key is checked by the proxy's TLS (wss://) and the proxy token, not by known_hosts.
                "  StrictHostKeyChecking no",
                "  UserKnownHostsFile /dev/null",
                "  LogLevel ERROR",
                f"  ProxyCommand {proxy_command(token_file)}",
            ]
        )
        config_path = upsert_host_block(alias, block)
    commands = exchange.get("commands") if isinstance(exchange.get("commands"), dict) else {}
    ssh = str(commands.get("ssh") or f"ssh {alias}")
    vscode = str(commands.get("vscode") or f"code --remote ssh-remote+{alias} {WORKSPACE}")
    sshfs = str(commands.get("sshfs_mount") or f"mkdir -p ~/AraWorkspace && sshfs {alias}:{WORKSPACE} ~/AraWorkspace")
    print_json(
        {
            "ok": True,
            "host_alias": alias,
            "ssh_config_path": str(config_path),
            "private_key_path": str(private_key),
            "proxy_token_file": str(token_file),
            "session_id": str(exchange.get("session_id") or ""),
            "commands": {"ssh": ssh, "vscode": vscode, "sshfs_mount": sshfs},
            "next": {"terminal": ssh, "vscode": vscode},
        }
    )


def _hostname() -> str:
    return socket.gethostname() or "local"


def ssh_proxy(
    token: Annotated[str, typer.Option("--token", help="The proxy token (prefer --token-file: argv is visible)")] = "",
    token_file: Annotated[Path | None, typer.Option("--token-file", help="A file holding the proxy token")] = None,
) -> None:
    """The ProxyCommand of `ssh ara-personal`: carries SSH over the server's WebSocket on stdin/stdout."""
    with sdk_errors():  # SSH owns stdout: a failure goes to stderr only, which ssh shows the user
        proxy(token, token_file)


def register(root: typer.Typer) -> None:
    root.command("connect")(connect)
    root.command("ssh-proxy")(ssh_proxy)
