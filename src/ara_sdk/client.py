"""``AraClient``: one app (its manifest) on an Ara server: deploy, run, run asynchronously, send events, follow
its logs, set up its keys, invite people.

Same constructor, ``from_env``, methods, parameters and requests as ara-sdk 0.1.46's ``AraClient`` (the wire notes
list the sequences), so a script written for it runs unchanged. Differences, on purpose: failures raise
``ara_sdk.errors`` exceptions with the status and the server's message; a runtime key saved by ``ara deploy``
(``~/.ara/.runtime-keys.local``, as 0.1.58) is used when no flag or ``ARA_RUNTIME_KEY`` gives one; a sync run waits
``ARA_RUN_TIMEOUT_SECONDS`` (120 s, at least 30, as 0.1.58) instead of 0.1.46's 30 s.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ara_sdk import config, runtime_keys
from ara_sdk.deploy import deploy_plan
from ara_sdk.errors import AraApiError, AraSdkError, CredentialsError
from ara_sdk.http import Http
from ara_sdk.secrets import SecretDefinition

LOG_READ_TIMEOUT = 60.0  # seconds between two lines of the log stream (the server pings at least every 15 s)
MISSING_KEY = "Missing runtime key. Set ARA_RUNTIME_KEY, ARA_APP_HEADER_KEY, or run deploy/setup-auth first."
NAME_TAKEN = (
    "Project name is already taken. Choose a different DNS-safe project_name "
    "(lowercase letters, digits, hyphens) and retry deploy."
)


def run_timeout() -> float:
    raw = os.environ.get("ARA_RUN_TIMEOUT_SECONDS", "").strip()
    try:
        seconds = int(raw) if raw else 120
    except ValueError:
        seconds = 120
    return float(max(seconds, 30))


def _secrets_route_missing(app_id: str) -> AraApiError:
    return AraApiError(
        404,
        "this server does not support App SDK secret routes; upgrade it, or remove runtime(secrets=...)",
        "GET",
        f"/apps/{app_id}/secrets",
    )


class AraClient:
    """Client bound to one App manifest."""

    def __init__(self, *, manifest: dict[str, Any], api_base_url: str, api_key: str, cwd: Path) -> None:
        self.manifest = dict(manifest)
        self.cwd = cwd
        self.http = Http(api_base_url, api_key)

    @classmethod
    def from_env(cls, *, manifest: dict[str, Any], cwd: str | None = None) -> AraClient:
        """Server and user key from the environment (``.env`` in ``cwd`` fills unset variables), else from
        ``~/.ara/credentials.json``; the server defaults to the local ``ara server``."""
        base = Path(cwd or os.getcwd())
        config.read_dotenv(base / ".env")
        api_key = config.resolve_user_key()
        if not api_key:
            raise CredentialsError("No credentials found. Set ARA_API_KEY or run `ara auth login`.")
        return cls(manifest=manifest, api_base_url=config.resolve_api_base_url(), api_key=api_key, cwd=base)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AraClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def slug(self) -> str:
        return str(self.manifest.get("slug") or "")

    # -- finding the app and the key ---------------------------------------------------------------------------
    def _find_app_by_slug(self) -> dict[str, Any] | None:
        """The row of ``GET /apps`` with this manifest's slug that the user owns."""
        rows = (self.http.request("GET", "/apps") or {}).get("apps") or []
        for row in rows:
            if isinstance(row, dict) and str(row.get("slug") or "") == self.slug and row.get("role") == "owner":
                return row
        return None

    def _app_id(self) -> str:
        app = self._find_app_by_slug()
        if not app:
            raise AraSdkError(f"App '{self.slug}' not found. Deploy first.")
        return str(app["id"])

    def _resolve_runtime_key(self, explicit: str | None = None) -> str:
        return (
            (explicit or "").strip()
            or os.environ.get("ARA_RUNTIME_KEY", "").strip()
            or runtime_keys.saved_key(self.slug, cwd=self.cwd)
        )

    def _resolve_app_header_key(self, explicit: str | None = None) -> str:
        return (explicit or "").strip() or os.environ.get("ARA_APP_HEADER_KEY", "").strip()

    def _invoke_headers(self, runtime_key: str | None, app_header_key: str | None) -> dict[str, str]:
        """``X-Ara-App-Key`` (and no Authorization) when a header key is known, else the runtime key as Bearer."""
        header_key = self._resolve_app_header_key(app_header_key)
        if header_key:
            return {"X-Ara-App-Key": header_key}
        key = self._resolve_runtime_key(runtime_key)
        if not key:
            raise CredentialsError(MISSING_KEY)
        return {"Authorization": f"Bearer {key}"}

    # -- control plane ---------------------------------------------------------------------------------------
    def deploy(
        self,
        *,
        activate: bool = True,
        key_name: str | None = None,
        key_rpm: int = 60,
        warm: bool = False,
        warm_agent_id: str | None = None,
        on_existing: str | None = "update",
    ) -> dict[str, Any]:
        """Creates the app or updates it (the whole manifest), syncs its secrets, mints a new runtime key."""
        on_existing = on_existing or "update"
        if on_existing not in ("update", "error"):
            raise ValueError("on_existing must be one of: update, error")
        existing = self._find_app_by_slug()
        app_id = str(existing["id"]) if existing else ""
        if app_id and on_existing == "error":
            raise AraSdkError(f"Project '{self.slug}' already exists for this account (app_id={app_id}).")
        plan = deploy_plan(self.manifest)  # the body without the client-only keys, and the secrets' values
        if app_id:
            body = plan.body | ({"status": "active"} if activate else {})
            self.http.request("PATCH", f"/apps/{app_id}", body=body)
        else:
            app_id = self._create(plan.create_body())
            if activate:
                self.http.request("PATCH", f"/apps/{app_id}", body={"status": "active"})
        secrets = self._sync_secrets(app_id, plan.secret_definitions, reconcile=plan.reconcile_secrets)
        key = self._create_key(app_id, key_name or f"{self.slug}-py-local", key_rpm)
        warmup = None
        if warm:
            body = {"agent_id": warm_agent_id, "workflow_id": warm_agent_id, "warmup": True, "input": {}}
            headers = {"Authorization": f"Bearer {key}"}
            warmup = self.http.request(
                "POST", f"/v1/apps/{app_id}/run", body=body, headers=headers, timeout=run_timeout()
            )
        return {
            "app_id": app_id,
            "slug": self.slug,
            "runtime_key_created": True,
            "runtime_key": key,
            "warmup": warmup,
            "secrets": secrets,
        }

    def _create(self, body: dict[str, Any]) -> str:
        try:
            created = self.http.request("POST", "/apps", body=body) or {}
        except AraApiError as exc:
            if exc.status == 409:
                raise AraApiError(409, NAME_TAKEN, "POST", "/apps") from None
            raise
        app = created.get("app") if isinstance(created.get("app"), dict) else created
        app_id = str(app.get("id") or "")
        if not app_id:
            raise AraSdkError("deploy failed: missing app id")
        return app_id

    def _create_key(self, app_id: str, name: str, rpm: int) -> str:
        body = {"name": name, "requests_per_minute": int(rpm)}
        key = str((self.http.request("POST", f"/apps/{app_id}/keys", body=body) or {}).get("key") or "").strip()
        if not key:
            raise AraSdkError("deploy failed: runtime key missing")
        return key

    def _sync_secrets(
        self, app_id: str, definitions: list[SecretDefinition], *, reconcile: bool
    ) -> dict[str, list[str]]:
        """Uploads each valued secret, then (when the profile declares ``secret_refs``) deletes the app's secrets
        this deploy no longer names; a 404 on a delete is a concurrent deploy's doing and is fine."""
        synced: list[str] = []
        referenced: list[str] = []
        for definition in definitions:
            if definition.values is None:
                referenced.append(definition.name)
                continue
            body = {"name": definition.name, "values": definition.values}
            try:
                self.http.request("POST", f"/apps/{app_id}/secrets", body=body)
            except AraApiError as exc:
                raise _secrets_route_missing(app_id) if exc.status == 404 else exc from None
            synced.append(definition.name)
        if reconcile:
            wanted = {definition.name for definition in definitions}
            try:
                rows = (self.http.request("GET", f"/apps/{app_id}/secrets") or {}).get("secrets") or []
            except AraApiError as exc:
                raise _secrets_route_missing(app_id) if exc.status == 404 else exc from None
            for row in rows:
                name = str(row.get("name") or "").strip().lower() if isinstance(row, dict) else ""
                if not name or name in wanted:
                    continue
                try:
                    self.http.request("DELETE", f"/apps/{app_id}/secrets/{name}")
                except AraApiError as exc:
                    if exc.status != 404:
                        raise
        return {"synced": synced, "referenced_only": referenced}

    def setup(self) -> dict[str, Any]:
        """Endpoint URLs and the endpoint secrets the server minted."""
        return self.http.request("GET", f"/apps/{self._app_id()}/setup")

    def setup_auth(
        self, *, x_key_name: str | None = None, x_key_rpm: int = 30, ensure_runtime_key: bool = True
    ) -> dict[str, Any]:
        """A runtime key (minted when none is known) and an app header key (minted, or the known one's id)."""
        app_id = self._app_id()
        runtime_key = self._resolve_runtime_key()
        runtime_key_created = False
        if ensure_runtime_key and not runtime_key:
            runtime_key = self._create_key(app_id, f"{self.slug}-py-local", 60)
            runtime_key_created = True
        header_key = self._resolve_app_header_key()
        created = False
        key_id = key_prefix = ""
        if not header_key:
            body = {"name": x_key_name or f"{self.slug}-x-header", "requests_per_minute": int(x_key_rpm)}
            answer = self.http.request("POST", f"/apps/{app_id}/x-keys", body=body) or {}
            header_key = str(answer.get("key") or "").strip()
            created = bool(header_key)
            key_id, key_prefix = str(answer.get("id") or ""), str(answer.get("key_prefix") or "")
        else:
            for row in (self.http.request("GET", f"/apps/{app_id}/x-keys") or {}).get("keys") or []:
                if not isinstance(row, dict) or str(row.get("is_active")).lower() == "false":
                    continue
                prefix = str(row.get("key_prefix") or "")
                if prefix and header_key.startswith(prefix):
                    key_id, key_prefix = str(row.get("id") or ""), prefix
                    break
        return {
            "app_id": app_id,
            "slug": self.slug,
            "runtime_key_present": bool(runtime_key),
            "runtime_key_created": runtime_key_created,
            "runtime_key": runtime_key,
            "app_header_key_present": bool(header_key),
            "app_header_key_created": created,
            "app_header_key_id": key_id,
            "app_header_key_prefix": key_prefix,
            "app_header_key": header_key,
        }

    def invite(self, *, email: str, role: str = "viewer", expires_in_hours: int = 24 * 7) -> dict[str, Any]:
        body = {"email": email, "role": role, "expires_in_hours": int(expires_in_hours)}
        return self.http.request("POST", f"/apps/{self._app_id()}/invites", body=body)

    # -- invoke ---------------------------------------------------------------------------------------------
    def run(
        self,
        *,
        agent_id: str | None,
        input_payload: dict[str, Any] | None = None,
        runtime_key: str | None = None,
        app_header_key: str | None = None,
    ) -> Any:
        """A sync run: the answer once the run ended (or the server's wait ran out)."""
        app_id = self._app_id()
        headers = self._invoke_headers(runtime_key, app_header_key)
        body = {"agent_id": agent_id, "workflow_id": agent_id, "warmup": False, "input": input_payload or {}}
        return self.http.request("POST", f"/v1/apps/{app_id}/run", body=body, headers=headers, timeout=run_timeout())

    def run_async(
        self,
        *,
        agent_id: str | None,
        input_payload: dict[str, Any] | None = None,
        runtime_key: str | None = None,
        app_header_key: str | None = None,
        response_mode: str = "poll",
        callback: dict[str, Any] | None = None,
        run_id: str | None = None,
        idempotency_key: str | None = None,
        warmup: bool = False,
    ) -> dict[str, Any]:
        """Starts a run and answers at once; ``webhook`` mode POSTs the result to ``callback['url']``."""
        app_id = self._app_id()
        headers = self._invoke_headers(runtime_key, app_header_key)
        body: dict[str, Any] = {
            "agent_id": agent_id,
            "workflow_id": agent_id,
            "warmup": bool(warmup),
            "input": input_payload or {},
            "response_mode": response_mode,
        }
        body |= {k: v for k, v in (("run_id", run_id), ("idempotency_key", idempotency_key)) if v}
        if callback:
            body["callback"] = callback
        return self.http.request("POST", f"/v1/apps/{app_id}/runs", body=body, headers=headers)

    def run_status(
        self, *, run_id: str, runtime_key: str | None = None, app_header_key: str | None = None
    ) -> dict[str, Any]:
        app_id = self._app_id()
        rid = str(run_id or "").strip()
        if not rid:
            raise ValueError("run_status requires run_id")
        headers = self._invoke_headers(runtime_key, app_header_key)
        return self.http.request("GET", f"/v1/apps/{app_id}/runs/{rid}", headers=headers)

    def events(
        self,
        *,
        agent_id: str | None,
        event_type: str,
        channel: str,
        source: str,
        message: str,
        payload: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        runtime_key: str | None = None,
        app_header_key: str | None = None,
    ) -> dict[str, Any]:
        """An event for the app's agent; the server starts one run per ``idempotency_key``."""
        app_id = self._app_id()
        headers = self._invoke_headers(runtime_key, app_header_key)
        if idempotency_key:
            headers["X-Idempotency-Key"] = idempotency_key
        body = {
            "agent_id": agent_id,
            "workflow_id": agent_id,
            "event_type": event_type,
            "channel": channel,
            "source": source,
            "message": message,
            "payload": payload or {},
            "metadata": metadata or {},
        }
        return self.http.request("POST", f"/v1/apps/{app_id}/events", body=body, headers=headers)

    def logs(self, *, runtime_key: str | None = None, app_header_key: str | None = None) -> Iterator[dict[str, Any]]:
        """The app's live log rows (``{timestamp, level, run_id, event_type, message}``) until the server closes
        the stream; comments and lines that are not ``data: <json object>`` are skipped."""
        app_id = self._app_id()
        headers = self._invoke_headers(runtime_key, app_header_key)
        path = f"/v1/apps/{app_id}/logs/stream"
        with self.http.stream_lines("GET", path, body=None, timeout=LOG_READ_TIMEOUT, headers=headers) as lines:
            for raw in lines:
                line = raw.strip()
                if not line.startswith("data:"):
                    continue
                try:
                    row = json.loads(line[5:].strip())
                except ValueError:
                    continue
                if isinstance(row, dict):
                    yield row
