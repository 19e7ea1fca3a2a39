"""``GET /apps/{id}/setup``: what a caller of the app needs: each endpoint's URL, auth and (for the owner and
editors, who alone may read this) its server-minted secret, and the invoke URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ara.apps import manifest, secrets_store
from ara.apps.models import App
from ara.crypto import SecretBox


def setup_info(session: Session, box: SecretBox, app: App, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/") + f"/v1/apps/{app.id}"
    endpoints = []
    for row in manifest.endpoints(app.manifest):
        label = str(row["label"])
        endpoints.append(
            {
                "label": label,
                "method": str(row.get("method") or "POST").upper(),
                "path": row.get("path"),
                "url": f"{base}/endpoints/{label}",
                "auth": secrets_store.auth_mode(row),
                "header_name": (row.get("auth") or {}).get("header_name") or None,
                "secret_env": secrets_store.secret_env(row),
                "secret": secrets_store.endpoint_secret(session, box, app.id, label),
            }
        )
    invoke = {
        "run_url": f"{base}/run",
        "runs_url": f"{base}/runs",
        "events_url": f"{base}/events",
        "logs_url": f"{base}/logs/stream",
    }
    return {"app_id": app.id, "slug": app.slug, "endpoints": endpoints, "invoke": invoke}
