"""The ids and bodies ara-sdk 0.1.46's CLI makes before it calls a run route: run ids, idempotency keys, the
``--input k=v`` / ``--input-json`` payload. Kept apart from ``AraClient`` (which sends what it is given, as
0.1.46's does) so our CLI and a script build the same requests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_CALLBACK_EVENTS = ("run.completed", "run.failed")


def slugify(value: str) -> str:
    """Lowercase alphanumerics, every other run of characters one ``-``, at most 120 characters."""
    out: list[str] = []
    for ch in str(value or "").strip().lower():
        if ch.isalnum():
            out.append(ch)
        elif not out or out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")[:120]


def new_run_id() -> str:
    """``run-<UTC %Y%m%dT%H%M%SZ>-<8 hex>``."""
    return f"run-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def parse_pairs(items: Iterable[str], flag: str = "--input") -> dict[str, str]:
    """``["k=v", ...]`` as strings; an item without ``=`` is refused (0.1.46 drops it silently)."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{flag} {item!r} is not KEY=VALUE")
        pairs[key.strip()] = value
    return pairs


def parse_json_object(raw: str, flag: str = "--input-json") -> dict[str, Any]:
    """A JSON object given inline or as ``@path``."""
    value = str(raw or "").strip()
    if not value:
        return {}
    if value.startswith("@"):
        path = Path(value[1:]).expanduser()
        try:
            value = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"{flag}: cannot read {path}: {exc.strerror}") from None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{flag} must be valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{flag} must be a JSON object")
    return parsed


def payload(pairs: Iterable[str], input_json: str, message: str) -> dict[str, Any]:
    """``--input-json`` if given, else the ``--input`` pairs, plus ``message`` when given."""
    body = parse_json_object(input_json) if str(input_json or "").strip() else parse_pairs(pairs)
    if message:
        body["message"] = message
    return body


def sync_input(body: dict[str, Any], agent_id: str | None) -> dict[str, Any]:
    """The sync run's input: ``run_id`` and ``idempotency_key`` kept when given, else made as 0.1.46 makes them
    (so the run id is known before the call and a retried command starts nothing new)."""
    out = dict(body)
    run_id = str(out.get("run_id") or "").strip() or new_run_id()
    out.setdefault("run_id", run_id)
    out.setdefault("idempotency_key", f"{slugify(agent_id or 'default-agent')}-{slugify(run_id)}")
    return out


def async_ids(run_id: str, idempotency_key: str) -> tuple[str, str]:
    """``(run_id, idempotency_key)`` of an async run: the given ones, else a new id and ``run-<slug(id)>``."""
    rid = run_id.strip() or new_run_id()
    return rid, idempotency_key.strip() or f"run-{slugify(rid)}"


def callback(url: str, secret: str, events: Iterable[str]) -> dict[str, Any]:
    """The webhook ``callback`` of an async run; the URL is required."""
    if not url.strip():
        raise ValueError("run-async with --response-mode webhook requires --callback-url")
    return {"url": url, "secret": secret or "", "events": list(events) or list(DEFAULT_CALLBACK_EVENTS)}


def event_idempotency_key(event_type: str, given: str = "") -> str:
    return given.strip() or f"{slugify(event_type)}-{slugify(new_run_id())}"
