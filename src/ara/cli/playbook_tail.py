"""``ara playbook tail ID``: follow a recorded playbook as the callback records it, from the server's
``/api/v1/playbooks/{id}/events`` stream: a line per task and per result, then the final status (exit 0). A
playbook that already ended prints what it recorded and its status. With the offline client the in-process
transport hands the stream over whole, when the playbook ends; use ``--client http`` to follow it live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from rich.console import Console
from rich.text import Text

from ara.clients.base import AraClient
from ara.clients.errors import api_error

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


def events(response: httpx.Response) -> Iterator[tuple[str, Any]]:
    """(event name, parsed JSON data) of each SSE message; comments (keep-alives) are skipped."""
    name, data = "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
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


def tail(client: AraClient, playbook_id: int, *, console: Console | None = None) -> str:
    """Prints the playbook's events until it ends; returns its final status."""
    out = console or Console(highlight=False, soft_wrap=True)
    url = f"{client.endpoint}/api/v1/playbooks/{playbook_id}/events"
    timeout = httpx.Timeout(client.http.timeout.connect, read=READ_TIMEOUT)
    final = "unknown"
    with client.http.stream("GET", url, timeout=timeout, headers={"Accept": "text/event-stream"}) as response:
        if response.status_code >= 400:
            response.read()
            raise api_error("GET", url, response.status_code, _body(response))
        for kind, data in events(response):
            text = line(kind, data)
            if text is not None:
                out.print(text)
            if kind == "end":
                final = str(data.get("status"))
    return final


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
