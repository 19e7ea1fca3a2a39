"""Webhook deliveries of finished runs (``response_mode: webhook``): a row per delivery, queued when the run ends,
sent by the engine's clock (``engine.app_webhooks``) and retried with exponential backoff.

Every host's clock may try: a delivery is claimed with a conditional update that pushes its ``next_at`` past the
send's timeout (a lease), so one delivery is sent by one host at a time, and a host that dies mid-send leaves it
to be retried when the lease runs out. The callback's secret is sealed in the run's row; an empty secret means
the deliveries are sent unsigned (no ``X-Ara-Signature``), since there is nothing to sign with."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ara.apps.models import AppRun, AppWebhookDelivery
from ara.crypto import SecretBox
from ara.settings import AppsSettings

EVENTS = ("run.completed", "run.failed")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def seal_callback(box: SecretBox, callback: dict[str, Any]) -> dict[str, Any]:
    """What a run keeps of its callback: the url, the events wanted, the secret sealed ("" stays "")."""
    secret = str(callback.get("secret") or "")
    return {
        "url": str(callback["url"]),
        "events": [str(event) for event in callback.get("events") or EVENTS],
        "secret": box.seal(secret) if secret else "",
    }


def queue_deliveries(session: Session, run: AppRun, event: str) -> None:
    """The ended run's delivery, if it asked for webhooks and for this ``event``."""
    callback = run.callback or {}
    if run.response_mode != "webhook" or not callback.get("url") or event not in (callback.get("events") or EVENTS):
        return
    session.add(AppWebhookDelivery(run_pk=run.id, event=event))


def signature(secret: str, timestamp: str, delivery_id: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "{timestamp}.{delivery_id}.{body}")>``."""
    message = f"{timestamp}.{delivery_id}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def any_due(session: Session, now: dt.datetime) -> bool:
    """A cheap read: is there a delivery to try (the clock writes only then)?"""
    found = session.scalar(
        select(AppWebhookDelivery.id)
        .where(AppWebhookDelivery.status == PENDING, AppWebhookDelivery.next_at <= now)
        .limit(1)
    )
    return found is not None


def claim_due(session: Session, now: dt.datetime, lease_seconds: float, limit: int = 20) -> list[str]:
    """Deliveries this host now sends (each one attempt spent, leased for ``lease_seconds``)."""
    candidates = session.scalars(
        select(AppWebhookDelivery.id)
        .where(AppWebhookDelivery.status == PENDING, AppWebhookDelivery.next_at <= now)
        .order_by(AppWebhookDelivery.next_at)
        .limit(limit)
    ).all()
    claimed = []
    for delivery_id in candidates:
        taken = session.execute(
            update(AppWebhookDelivery)
            .where(
                AppWebhookDelivery.id == delivery_id,
                AppWebhookDelivery.status == PENDING,
                AppWebhookDelivery.next_at <= now,
            )
            .values(next_at=now + dt.timedelta(seconds=lease_seconds), attempts=AppWebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    return claimed


@dataclass(frozen=True)
class Outgoing:
    """One delivery, ready to POST (built in a read; sent outside any transaction)."""

    delivery_id: str
    url: str
    body: bytes
    headers: dict[str, str]


def outgoing(session: Session, box: SecretBox, delivery_id: str, describe: Any, now: dt.datetime) -> Outgoing | None:
    """The request for a claimed delivery (``describe``: ``runs.describe_run``); None if its run is gone."""
    delivery = session.get(AppWebhookDelivery, delivery_id)
    run = session.get(AppRun, delivery.run_pk) if delivery is not None else None
    if delivery is None or run is None or not (run.callback or {}).get("url"):
        return None
    body = json.dumps({"event": delivery.event, "delivery_id": delivery.id, "run": describe(run)}).encode()
    timestamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json", "X-Ara-Timestamp": timestamp, "X-Ara-Delivery-Id": delivery.id}
    sealed = str(run.callback.get("secret") or "")
    if sealed:
        headers["X-Ara-Signature"] = signature(box.open(sealed), timestamp, delivery.id, body)
    return Outgoing(delivery.id, str(run.callback["url"]), body, headers)


def record_outcome(
    session: Session, settings: AppsSettings, delivery_id: str, error: str | None, now: dt.datetime
) -> None:
    """Delivered; or failed for good after ``webhook_attempts``; or tried again after the backoff (doubled after
    each failed attempt)."""
    delivery = session.get(AppWebhookDelivery, delivery_id, with_for_update=True, populate_existing=True)
    if delivery is None or delivery.status != PENDING:
        return
    if error is None:
        delivery.status, delivery.last_error = DELIVERED, None
        return
    delivery.last_error = error[:1000]
    if delivery.attempts >= settings.webhook_attempts:
        delivery.status = FAILED
        return
    backoff = settings.webhook_backoff_seconds * 2 ** max(delivery.attempts - 1, 0)
    delivery.next_at = now + dt.timedelta(seconds=backoff)
