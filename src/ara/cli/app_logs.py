"""``ara logs APP.py``: the app's live log, one coloured line per row, until Ctrl-C (exit 0).

The line is ara-sdk's (``<timestamp> <LEVEL> run=<run_id> event=<event_type> <message>``), built as Rich ``Text``
so a message can never inject markup. Unlike ara-sdk, which exits when the stream ends or stays silent for 60 s,
the tail reconnects (the server replays the last minute on connect; rows already shown are skipped), so a server
restart or a proxy closing an idle connection does not end it. A refusal (wrong key, app gone) ends it with one
line and exit 2; so does a server that cannot be reached before the first row arrived.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

from rich.console import Console
from rich.text import Text

from ara_sdk.client import AraClient
from ara_sdk.errors import AraConnectionError

RECONNECT_DELAY = 1.0  # seconds; doubled while the server stays away, up to MAX_DELAY
MAX_DELAY = 15.0
REMEMBERED = 5000  # rows kept to recognise the replay after a reconnect

LEVEL_STYLES = {"DEBUG": "dim", "INFO": "cyan", "WARNING": "yellow", "WARN": "yellow", "ERROR": "bold red"}
EVENT_STYLES = {"run.completed": "bold green", "run.failed": "bold red", "run.started": "green"}


def line(row: dict[str, Any]) -> Text:
    """One row as ara-sdk formats it, with styles."""
    timestamp = str(row.get("timestamp") or row.get("created_at") or "").strip()
    level = str(row.get("level") or "info").strip().upper() or "INFO"
    run_id = str(row.get("run_id") or "-").strip() or "-"
    event = str(row.get("event_type") or "runtime.event").strip() or "runtime.event"
    message = str(row.get("message") or "").strip()
    text = Text.assemble(
        (timestamp, "dim"),
        " ",
        (level, LEVEL_STYLES.get(level, "")),
        f" run={run_id} event=",
        (event, EVENT_STYLES.get(event, "magenta")),
    )
    if message:
        text.append(" " + message)
    return text


def _identity(row: dict[str, Any]) -> str:
    """A row's id when the server sends one, else its whole content (replayed rows are identical)."""
    return str(row["id"]) if row.get("id") is not None else json.dumps(row, sort_keys=True, default=str)


def tail(
    client: AraClient,
    *,
    run_id: str = "",
    runtime_key: str | None = None,
    app_header_key: str | None = None,
    console: Console | None = None,
) -> None:
    """Prints rows (only ``run_id``'s when given) until interrupted."""
    out = console or Console(highlight=False, soft_wrap=True)
    seen: deque[str] = deque(maxlen=REMEMBERED)
    known: set[str] = set()
    connected = False
    delay = RECONNECT_DELAY
    try:
        while True:
            try:
                for row in client.logs(runtime_key=runtime_key, app_header_key=app_header_key):
                    connected, delay = True, RECONNECT_DELAY
                    identity = _identity(row)
                    if identity in known:
                        continue
                    if len(seen) == seen.maxlen:
                        known.discard(seen[0])
                    seen.append(identity)
                    known.add(identity)
                    if not run_id or row.get("run_id") == run_id:
                        out.print(line(row))
            except AraConnectionError:
                if not connected:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
    except KeyboardInterrupt:
        return
