"""``ara ssh-proxy``'s pipe: OpenSSH's ``ProxyCommand`` talks SSH on our stdin/stdout, which this copies to and
from the server's ``/session/ssh/proxy`` WebSocket (binary frames) until either side ends.

``python -m ara.cli.ssh_bridge --token-file F`` is the same command without the whole CLI to import: the
``ProxyCommand`` ``ara connect`` writes, run for every ``ssh``, starts in a third of the time."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import urllib.parse
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI

from ara.cli.ssh_files import read_token_file
from ara_sdk import config
from ara_sdk.errors import AraSdkError

CHUNK = 64 * 1024
PROXY_PATH = "/session/ssh/proxy"


def proxy_url(api_base_url: str) -> str:
    """``http(s)://host[:port][/prefix]`` as ``ws(s)://…/prefix/session/ssh/proxy`` (a path prefix is kept, as
    every other route keeps it)."""
    parsed = urllib.parse.urlsplit(api_base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AraSdkError(f"the server URL must be http(s)://host[:port]: {api_base_url!r}")
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}{PROXY_PATH}"


async def _stdin_to_socket(socket: ClientConnection) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except ValueError:  # not a pipe, socket or terminal (a regular file): read it in a thread
        while chunk := await loop.run_in_executor(None, os.read, sys.stdin.fileno(), CHUNK):
            await socket.send(chunk)
    else:
        while chunk := await reader.read(CHUNK):
            await socket.send(chunk)
    await socket.close()


async def _socket_to_stdout(socket: ClientConnection) -> None:
    fd = sys.stdout.fileno()
    with contextlib.suppress(ConnectionClosed):
        async for message in socket:
            data = message if isinstance(message, bytes) else message.encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]


async def bridge(api_base_url: str, token: str) -> None:
    """Copy both ways until one side closes; a refused handshake raises ``AraSdkError`` with the server's reason."""
    url = proxy_url(api_base_url)
    try:
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as socket:
            tasks = [asyncio.create_task(_stdin_to_socket(socket)), asyncio.create_task(_socket_to_stdout(socket))]
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                task.result()
    except InvalidStatus as exc:
        response = exc.response
        reason = _denial_reason(response.body or b"") or response.reason_phrase
        raise AraSdkError(f"{url} refused the SSH proxy ({response.status_code}): {reason}") from None
    except (OSError, InvalidURI, TimeoutError) as exc:
        raise AraSdkError(f"cannot reach {url}: {exc}") from None


def _denial_reason(body: bytes) -> str:
    """Ara's ``{"error": {"message"}}`` from a refused handshake, else the start of the body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    error = data.get("error") if isinstance(data, dict) else None
    return str(error.get("message")) if isinstance(error, dict) and error.get("message") else ""


def proxy(token: str, token_file: Path | None) -> None:
    """Run the pipe with the given token (or the one in ``token_file``) to the configured server."""
    given = token.strip() or (read_token_file(token_file) if token_file is not None else "")
    if not given:
        raise AraSdkError("give --token or --token-file (written by `ara connect`)")
    asyncio.run(bridge(config.resolve_api_base_url(), given))


def main(argv: list[str] | None = None) -> None:
    """``python -m ara.cli.ssh_bridge``: errors as ``ara`` prints them (one line on stderr, exit 2)."""
    parser = argparse.ArgumentParser(prog="ara ssh-proxy", description="OpenSSH ProxyCommand for ara-personal")
    parser.add_argument("--token", default="")
    parser.add_argument("--token-file", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        proxy(args.token, args.token_file)
    except AraSdkError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
