"""The invoke routes' bodies, checked field by field (a bad one is a 400 naming it), turned into ``start_run``'s
arguments. Shapes are ara-sdk's (``shared/notes/ara-sdk-wire.md``): ``workflow_id`` always equals ``agent_id``
there, so it stands in for a missing ``agent_id``; both null mean the default agent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ara.apps.runs import RESERVED_KEY_PREFIXES
from ara.apps.webhooks import EVENTS
from ara.errors import ToolFailed, ValidationFailed
from ara.runtime.tools.web import check_url

MAX_ID = 255
ALLOW_PRIVATE_ENV = "ARA_APPS__WEBHOOK_ALLOW_PRIVATE"
MODES = ("poll", "webhook")


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


def _text(body: dict[str, Any], field: str, *, where: str = "") -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    name = f"{where}{field}"
    if not isinstance(value, str):
        raise _fail(name, "expected a string")
    if len(value) > MAX_ID:
        raise _fail(name, f"at most {MAX_ID} characters")
    return value


def _key(body: dict[str, Any], field: str, *, where: str = "") -> str | None:
    """A caller's idempotency key: never one of the server's own (``runs.RESERVED_KEY_PREFIXES``)."""
    return _caller_key(_text(body, field, where=where), f"{where}{field}")


def _caller_key(value: str | None, name: str) -> str | None:
    if value is not None and value.strip().startswith(RESERVED_KEY_PREFIXES):
        raise _fail(name, f"may not begin with {', '.join(map(repr, RESERVED_KEY_PREFIXES))}: the server's own keys")
    return value


def _object(body: dict[str, Any], field: str, *, where: str = "") -> dict[str, Any]:
    value = body.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"{where}{field}", "expected a JSON object")
    return value


def _flag(body: dict[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _fail(field, "expected true or false")
    return value


def _agent(body: dict[str, Any]) -> str | None:
    return _text(body, "agent_id") or _text(body, "workflow_id")


def sync_run(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/apps/{id}/run``: ``{agent_id, workflow_id, warmup, input}``; ``input.run_id`` is the run id and
    ``input.idempotency_key`` dedups."""
    payload = _object(body, "input")
    warmup = _flag(body, "warmup")
    return {
        "agent_id": _agent(body),
        "input": payload,
        "run_id": _text(payload, "run_id", where="input."),
        "idempotency_key": _key(payload, "idempotency_key", where="input."),
        "warmup": warmup,
        "trigger": "warmup" if warmup else "api",
        "response_mode": "sync",
    }


def async_run(body: dict[str, Any], *, allow_private: bool = False) -> dict[str, Any]:
    """``POST /v1/apps/{id}/runs``: also ``response_mode`` (poll | webhook), ``run_id``, ``idempotency_key`` and,
    for webhooks, ``callback: {url, secret, events}``."""
    payload = _object(body, "input")
    mode = body.get("response_mode") or "poll"
    if mode not in MODES:
        raise _fail("response_mode", f"one of {', '.join(MODES)}")
    warmup = _flag(body, "warmup")
    return {
        "agent_id": _agent(body),
        "input": payload,
        "run_id": _text(body, "run_id") or _text(payload, "run_id", where="input."),
        "idempotency_key": _key(body, "idempotency_key") or _key(payload, "idempotency_key", where="input."),
        "warmup": warmup,
        "trigger": "warmup" if warmup else "async",
        "response_mode": mode,
        "callback": _callback(body, allow_private) if mode == "webhook" else None,
    }


def _callback(body: dict[str, Any], allow_private: bool) -> dict[str, Any]:
    if body.get("callback") is None:
        raise _fail("callback", "required when response_mode is webhook")
    callback = _object(body, "callback")
    url = callback.get("url")
    if not isinstance(url, str) or not url:
        raise _fail("callback.url", "required: the http(s) URL the result is POSTed to")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
        raise _fail("callback.url", "expected an http(s) URL")
    try:  # checked again at each delivery, on the address then resolved
        check_url(url, allow_private=allow_private, what="callback.url", setting=ALLOW_PRIVATE_ENV)
    except ToolFailed as exc:
        raise _fail("callback.url", exc.message) from None
    secret = callback.get("secret") or ""
    if not isinstance(secret, str):
        raise _fail("callback.secret", "expected a string")
    events = callback.get("events") or list(EVENTS)
    if not isinstance(events, list) or not events or any(event not in EVENTS for event in events):
        raise _fail("callback.events", f"a list of {', '.join(EVENTS)}")
    return {"url": url, "secret": secret, "events": events}


def event_run(body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
    """``POST /v1/apps/{id}/events`` with ``X-Idempotency-Key`` (required): the agent's input is
    ``{message, event: {event_type, channel, source, payload, metadata}}``."""
    if not idempotency_key or not idempotency_key.strip():
        raise _fail("X-Idempotency-Key", "required header: the same key twice starts one run")
    if len(idempotency_key) > MAX_ID:
        raise _fail("X-Idempotency-Key", f"at most {MAX_ID} characters")
    _caller_key(idempotency_key, "X-Idempotency-Key")
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise _fail("message", "expected a string")
    event = {
        "event_type": _text(body, "event_type") or "webhook.message.received",
        "channel": _text(body, "channel") or "webhook",
        "source": _text(body, "source") or "webhook",
        "payload": _object(body, "payload"),
        "metadata": _object(body, "metadata"),
    }
    return {
        "agent_id": _agent(body),
        "input": {"message": message or "", "event": event},
        "idempotency_key": idempotency_key.strip(),
        "trigger": "event",
        "response_mode": "poll",
    }
