"""The clock's part that sends app runs' webhook deliveries (see ``apps.webhooks`` for the rows, the claim and the
signature). The claim is a short write; the POSTs run on a thread of their own, so a slow receiver never holds
the clock (which fires schedules and reaps dead workers) for its timeout."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import httpx

from ara.apps import webhooks
from ara.apps.runs import describe_run
from ara.db.session import unit_of_work
from ara.db.types import utcnow
from ara.engine.context import EngineContext

log = logging.getLogger("ara.engine")
#: A claimed delivery is another host's to retry only after the send's timeout and this margin.
LEASE_MARGIN_SECONDS = 5.0


def deliver_webhooks(ctx: EngineContext, now: dt.datetime) -> None:
    """Claim the deliveries due now and send them in the background."""
    with unit_of_work(ctx.reader) as session:
        if not webhooks.any_due(session, now):
            return  # the usual second: one read, no write lock
    apps = ctx.settings.apps
    with unit_of_work(ctx.writer) as session:
        claimed = webhooks.claim_due(session, now, apps.webhook_timeout_seconds + LEASE_MARGIN_SECONDS)
    if claimed:
        threading.Thread(target=send_all, args=(ctx, claimed), name="ara-webhooks", daemon=True).start()


def send_all(ctx: EngineContext, claimed: list[str]) -> None:
    apps = ctx.settings.apps
    with httpx.Client(timeout=apps.webhook_timeout_seconds, follow_redirects=False) as client:
        for delivery_id in claimed:
            try:
                with unit_of_work(ctx.reader) as session:
                    request = webhooks.outgoing(session, ctx.box, delivery_id, describe_run, utcnow())
                error = None if request is None else _post(client, request)
            except Exception as exc:  # never let one delivery stop the others; its row says why
                log.exception("webhook delivery %s failed", delivery_id)
                error = f"internal error: {type(exc).__name__}"
            with unit_of_work(ctx.writer) as session:
                webhooks.record_outcome(session, apps, delivery_id, error, utcnow())


def _post(client: httpx.Client, request: webhooks.Outgoing) -> str | None:
    """None when the receiver answered 2xx; else what went wrong (kept on the row, retried)."""
    try:
        answer = client.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return None
    return f"the receiver answered {answer.status_code}"
