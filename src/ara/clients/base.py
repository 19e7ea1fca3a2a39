"""``AraClient``: get/post/patch/put/delete against the API, returning parsed JSON; the transport decides
whether that goes over HTTP or into an app in this process."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

import ara
from ara.clients.errors import ConnectError, Timeout, TransportError, api_error

USER_AGENT = f"ara-client/{ara.__version__}"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Seconds an idle connection is kept for reuse: shorter than the server's keep-alive (``ara server``: 65 s,
# gunicorn's default: 2 s is the one exception, covered by the retry below), so the server rarely closes a
# connection just as the client reuses it.
KEEPALIVE_SECONDS = 1.5
# What a reset on a reused connection looks like: the request may or may not have reached the server.
_RESET = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class AraClient:
    """One client for both transports. Safe to share between threads; rebuilt after a fork (Ansible forks
    workers that inherit the callback's client, and a child must not reuse the parent's connections)."""

    def __init__(self, base_url: str, make_http: Callable[[], httpx.Client]) -> None:
        self.endpoint = base_url.rstrip("/")
        self._make_http = make_http
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._http = make_http()

    @property
    def http(self) -> httpx.Client:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._http = self._make_http()
                    self._pid = os.getpid()
        return self._http

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The raw response to ``path`` (relative to the endpoint), for callers that want bytes or the status;
        transport failures and 4xx/5xx raise the same exceptions as ``request``.

        Every create (POST under ``/api/v1``) carries an ``Idempotency-Key`` (the caller's, or a new one), so it
        can be sent again safely: the server answers what the first one created. A connection reset (the server
        closed a reused connection) is therefore retried once for every call."""
        url = self.endpoint + path
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        sent_headers = dict(headers or {})
        if content is not None:
            sent_headers["Content-Type"] = "application/json"
        if method == "POST" and path.startswith("/api/v1/") and IDEMPOTENCY_HEADER not in sent_headers:
            sent_headers[IDEMPOTENCY_HEADER] = str(uuid.uuid4())
        query = _clean_params(params)
        try:
            try:
                response = self.http.request(method, url, params=query, content=content, headers=sent_headers)
            except _RESET:
                response = self.http.request(method, url, params=query, content=content, headers=sent_headers)
                if method == "DELETE" and response.status_code == 404:
                    return httpx.Response(204, request=response.request)  # the first attempt deleted it
        except httpx.TimeoutException as exc:
            raise Timeout(f"{method} {url} timed out: {exc}") from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"cannot connect to {self.endpoint}: {exc}") from exc
        except httpx.TransportError as exc:
            raise TransportError(f"{method} {url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise api_error(method, str(response.url), response.status_code, _parsed(response))
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """The parsed JSON answer (None for an empty one) to ``path``, relative to the endpoint (``/api/v1/...``)."""
        return _parsed(self.send(method, path, params=params, body=body, headers=headers))

    # ``url`` is positional-only: callers send fields such as ``path=`` (ARA's callback does).
    def get(self, url: str, /, **params: Any) -> Any:
        return self.request("GET", url, params=params)

    def post(self, url: str, /, **fields: Any) -> Any:
        return self.request("POST", url, body=fields)

    def patch(self, url: str, /, **fields: Any) -> Any:
        return self.request("PATCH", url, body=fields)

    def put(self, url: str, /, **fields: Any) -> Any:
        return self.request("PUT", url, body=fields)

    def delete(self, url: str, /) -> None:
        self.request("DELETE", url)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _parsed(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _clean_params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Drop ``None`` and render booleans as ``true``/``false`` (what the filters accept)."""
    if not params:
        return None
    cleaned: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        cleaned[key] = value
    return cleaned


def basic_auth(auth: Any) -> httpx.Auth | None:
    """Accepts ``(user, password)``, an ``httpx.Auth``, or anything with ``username``/``password``
    (such as requests' HTTPBasicAuth, which ARA's own helpers build)."""
    if auth is None or isinstance(auth, httpx.Auth):
        return auth
    if isinstance(auth, tuple | list) and len(auth) == 2:
        return httpx.BasicAuth(*auth)
    username, password = getattr(auth, "username", None), getattr(auth, "password", None)
    if username is not None and password is not None:
        return httpx.BasicAuth(username, password)
    raise ValueError(f"unsupported auth: {type(auth).__name__}")
