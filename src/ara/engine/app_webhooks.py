"""The clock's part that sends app runs' webhook deliveries (see ``apps.webhooks`` for the rows, the claim and the
signature). One sender thread per process and database, so a slow receiver never holds the clock (which fires
schedules and reaps dead workers) and never multiplies threads: it claims one delivery just before sending it,
so its lease (the send's whole deadline and a margin) runs out only if this host died, and each POST has an
overall deadline (a receiver that trickles bytes is cut off too, not only one that is silent)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading

import httpx

from ara.apps import webhooks
from ara.apps.run_bodies import ALLOW_PRIVATE_ENV
from ara.apps.runs import describe_run
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine.context import EngineContext
from ara.errors import ToolFailed
from ara.runtime.tools.web import check_url, pinned

log = logging.getLogger("ara.engine")
#: A claimed delivery is another host's to retry only after the send's deadline and this margin.
LEASE_MARGIN_SECONDS = 5.0
_senders_lock = threading.Lock()
_senders: set[str] = set()  # the databases this process has a sender thread for


def deliver_webhooks(ctx: EngineContext, now: dt.datetime) -> None:
    """Start this process's sender when a delivery is due and none runs; it sends until none is due."""
    with unit_of_work(ctx.reader) as session:
        if not webhooks.any_due(session, now):
            return  # the usual second: one read, no write lock
    database = ctx.settings.database_url
    with _senders_lock:
        if database in _senders:
            return
        _senders.add(database)
    try:
        threading.Thread(target=send_due, args=(ctx,), name="ara-webhooks", daemon=True).start()
    except BaseException:
        _stopped(database)
        raise


def _stopped(database: str) -> None:
    with _senders_lock:
        _senders.discard(database)


def send_due(ctx: EngineContext) -> None:
    """Claim one due delivery (one attempt spent, leased), send it, record its outcome; until none is due."""
    apps = ctx.settings.apps
    lease = apps.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    try:
        while True:
            with unit_of_work(ctx.writer) as session:
                claimed = webhooks.claim_due(session, utcnow(), lease, limit=1)
            if not claimed:
                return
            send_one(ctx, claimed[0])
    except Exception:  # the database went away...: the next tick starts a sender again
        log.exception("webhook sender stopped")
    finally:
        _stopped(ctx.settings.database_url)


def send_one(ctx: EngineContext, delivery_id: str) -> None:
    apps = ctx.settings.apps
    try:
        with unit_of_work(ctx.reader) as session:
            request = webhooks.outgoing(session, ctx.box, delivery_id, describe_run, utcnow())
        error = None if request is None else _send(request, apps.webhook_timeout_seconds, apps.webhook_allow_private)
    except Exception as exc:  # never let one delivery stop the others; its row says why
        log.exception("webhook delivery %s failed", delivery_id)
        error = f"internal error: {type(exc).__name__}"
    with unit_of_work(ctx.writer) as session:
        webhooks.record_outcome(session, apps, delivery_id, error, utcnow())


def _send(request: webhooks.Outgoing, seconds: float, allow_private: bool) -> str | None:
    """The callback URL was checked at submit; its host is resolved and checked again now, and the POST goes to
    the address checked (a second DNS answer cannot point it into the server's network)."""
    try:
        address = check_url(request.url, allow_private=allow_private, what="callback.url", setting=ALLOW_PRIVATE_ENV)
    except ToolFailed as exc:
        return exc.message
    url, headers, extensions = pinned(request.url, address)
    return asyncio.run(_post(url, {**request.headers, **headers}, request.body, extensions, seconds))


async def _post(
    url: str, headers: dict[str, str], body: bytes, extensions: dict[str, str], seconds: float
) -> str | None:
    """None when the receiver answered 2xx within ``seconds`` (all of it: connecting, sending, the answer's
    head); else what went wrong (kept on the row, retried). Only the status is read, never the body."""
    try:
        async with asyncio.timeout(seconds), httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client:
            async with client.stream("POST", url, content=body, headers=headers, extensions=extensions) as answer:
                status = answer.status_code
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return None
    return f"the receiver answered {status}"
