"""Run ids and the event envelope (``POST /v1/apps/{id}/events``): the ids the CLI invents when the caller
gives none, spelled as 0.1.46 spells them, so logs and idempotency keys look alike with either SDK."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ara_sdk.validation import DeclarationError, slugify


def new_run_id() -> str:
    """``run-20261201T233125Z-1a2b3c4d``: sortable by time, unique by the random tail."""
    return f"run-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def event_envelope(
    event_type: str,
    *,
    source: str = "api",
    channel: str = "api",
    message: str = "",
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``{"event": {...}}``; ``metadata`` always carries a ``run_id`` and an ``idempotency_key`` (derived from the
    type and the run id unless given), so resending the same envelope starts one run."""
    name = str(event_type or "").strip()
    if not name:
        raise DeclarationError("event_envelope() requires a non-empty event_type")
    meta = dict(metadata or {})
    run_id = str(meta.get("run_id") or "").strip() or new_run_id()
    meta["run_id"] = run_id
    if not str(meta.get("idempotency_key") or "").strip():
        meta["idempotency_key"] = f"{slugify(name)}-{slugify(run_id)}"
    return {
        "event": {
            "type": name,
            "source": str(source or "api").strip() or "api",
            "channel": str(channel or "api").strip() or "api",
            "message": str(message or ""),
            "payload": dict(payload or {}),
            "metadata": meta,
        }
    }
