"""``ara playbook tail ID``: follow a recorded playbook as the callback records it, from the server's
``/api/v1/playbooks/{id}/events`` stream: a line per task and per result, then the final status (exit 0). A
playbook that already ended prints what it recorded and its status. Over http it reads one long stream; with the
offline client (whose in-process transport hands a response over only when it is complete) it polls the same
route with ``follow=false``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from ara.clients.base import AraClient
from ara.clients.errors import api_error

POLL_SECONDS = 0.5
READ_TIMEOUT = 60.0  # seconds without a byte; the server sends a keep-alive comment every 10
STYLES = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "skipped": "cyan",
    "ignored": "magenta",
    "completed": "bold green",
    "running": "blue",
}


def events(response: httpx.Response) -> Iterator[tuple[str, Any, str]]:
    """(event name, parsed JSON data, event id) of each SSE message; comments (keep-alives) are skipped."""
    name, data, event_id = "message", [], ""
    for line in response.iter_lines():
        if not line:
            if data:
                yield name, json.loads("\n".join(data)), event_id
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


def line(kind: str, data: dict[str, Any]) -> Text | None:
    """What one event prints (as Rich ``Text``: recorded names can never inject markup)."""
    status = str(data.get("status", ""))
    style = STYLES.get(status, "")
    if kind == "playbook":
        return Text.assemble(f"Playbook {data['id']} ", (str(data.get("path")), "bold"), ": ", (status, style))
    if kind == "task":
        where = f"{data.get('path')}:{data.get('lineno')}"
        return Text.assemble(
            "\nTASK [", (str(data.get("name") or ""), "bold"), f"] {data.get('action')} ", (where, "dim")
        )
    if kind == "result":
        host = data.get("host_name") or data.get("host")
        return Text.assemble("  ", (f"{status}:", style), f" [{host}] ", (str(data.get("task_name") or ""), "dim"))
    if kind == "end":
        return Text.assemble(f"\nPlaybook {data['id']} ended: ", (status, style), f" ({data.get('duration')})")
    return None


def tail(client: AraClient, playbook_id: int, *, console: Console | None = None, stream: bool = True) -> str:
    """Prints the playbook's events until it ends; returns its final status. ``stream``: one long response (http);
    otherwise short reads every ``POLL_SECONDS`` (the offline client's in-process transport hands a response over
    only when it is complete)."""
    out = console or Console(highlight=False, soft_wrap=True)
    path = f"/api/v1/playbooks/{playbook_id}/events"
    cursor = ""
    while True:
        params = {} if stream else {"follow": "false", **({"after": cursor} if cursor else {})}
        for kind, data, event_id in _read(client, path, params):
            cursor = event_id or cursor
            text = line(kind, data)
            if text is not None:
                out.print(text)
            if kind == "end":
                return str(data.get("status"))
        if stream:
            return "unknown"  # the server closed the stream without an end (it stopped)
        time.sleep(POLL_SECONDS)


def _read(client: AraClient, path: str, params: dict[str, str]) -> Iterator[tuple[str, Any, str]]:
    url = client.endpoint + path
    timeout = httpx.Timeout(client.http.timeout.connect, read=READ_TIMEOUT)
    headers = {"Accept": "text/event-stream"}
    with client.http.stream("GET", url, params=params, timeout=timeout, headers=headers) as response:
        if response.status_code >= 400:
            response.read()
            raise api_error("GET", url, response.status_code, _body(response))
        yield from events(response)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
