"""The SDK's one HTTP transport: JSON calls and SSE lines over a kept-alive httpx connection, with every failure
turned into an ``ara_sdk.errors`` exception carrying the server's own message.

Paths are appended to the base URL verbatim, as ara-sdk does (a base URL with a path prefix works). Answers
follow ara-sdk's rules: 204 is ``None``, an empty body ``{}``, anything else must be JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from ara_sdk.errors import AraApiError, AraConnectionError, AraSdkError

DEFAULT_TIMEOUT = 30.0
_MESSAGE_LIMIT = 500  # characters of a non-JSON error body kept in the exception


def error_message(response: httpx.Response) -> str:
    """The server's message: Ara's ``{"error": {"message"}}``, FastAPI's ``{"detail"}`` (a string or a list of
    field errors), or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:_MESSAGE_LIMIT] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = body.get("detail")
        if isinstance(detail, list):
            return "; ".join(_field_error(item) for item in detail)
        if detail:
            return str(detail)
    return json.dumps(body)[:_MESSAGE_LIMIT]


def _field_error(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
    return f"{where}: {item.get('msg')}" if where else str(item.get("msg"))


def query_path(path: str, params: Mapping[str, Any]) -> str:
    """``path`` with the non-empty ``params`` as a query string (ara-sdk drops empty values)."""
    kept = {key: value for key, value in params.items() if str(value or "").strip()}
    return f"{path}?{httpx.QueryParams(kept)}" if kept else path


def check_base_url(base_url: str) -> None:
    """Refuses at once what no request could reach (``127.0.0.1:8000`` without a scheme, a broken host)."""
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise AraSdkError(f"{base_url!r} is not a server URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise AraSdkError(f"{base_url!r} is not a server URL: give http://host:port or https://host")


class Http:
    """A base URL, the user's key and one connection pool."""

    def __init__(self, base_url: str, api_key: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        check_base_url(self.base_url)
        self.api_key = api_key
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=DEFAULT_TIMEOUT, transport=transport)

    def close(self) -> None:
        self._client.close()

    def _build(
        self,
        method: str,
        path: str,
        body: Any,
        timeout: float,
        accept: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        sent = {"Accept": accept} if accept else {}
        content = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            content = json.dumps(body).encode()
        request = self._client.build_request(
            method, self.base_url + path, content=content, headers=sent, timeout=timeout
        )
        if headers is not None:
            # The invoke routes take an app key instead of the user's: it replaces the Authorization header.
            request.headers.pop("Authorization", None)
            request.headers.update({name: value for name, value in headers.items() if value})
        return request

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One JSON call: the decoded answer, ``None`` for 204, ``{}`` for an empty body. ``headers`` (an app
        key's) are sent instead of the user's ``Authorization``."""
        request = self._build(method, path, body, timeout, None, headers)
        return self._decode(method, path, self._send(method, path, request))

    def upload(self, path: str, *, fields: Mapping[str, str], file: tuple[str, bytes], timeout: float = 120.0) -> Any:
        """A multipart POST (``fields`` plus one ``file`` part named ``file``), decoded as ``request`` does."""
        request = self._client.build_request(
            "POST", self.base_url + path, data=dict(fields), files={"file": file}, timeout=timeout
        )
        return self._decode("POST", path, self._send("POST", path, request))

    def download(self, path: str, *, timeout: float = 120.0) -> httpx.Response:
        """A GET whose body is bytes (read in full), not JSON."""
        return self._send("GET", path, self._client.build_request("GET", self.base_url + path, timeout=timeout))

    def _send(self, method: str, path: str, request: httpx.Request) -> httpx.Response:
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            raise self._network(method, path, exc) from None
        if not response.is_success:
            raise AraApiError(response.status_code, error_message(response), method, path)
        return response

    @staticmethod
    def _decode(method: str, path: str, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None if response.status_code == 204 else {}
        try:
            return response.json()
        except ValueError:
            raise AraApiError(response.status_code, "the answer is not JSON", method, path) from None

    @contextmanager
    def stream_lines(
        self, method: str, path: str, *, body: Any, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Iterator[Iterator[str]]:
        """An event stream's lines (``timeout`` is per read); a non-2xx answer raises before any line."""
        request = self._build(method, path, body, timeout, "text/event-stream", headers)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._network(method, path, exc) from None
        try:
            if not response.is_success:
                response.read()
                raise AraApiError(response.status_code, error_message(response), method, path)
            yield self._lines(method, path, response)
        finally:
            response.close()

    def _lines(self, method: str, path: str, response: httpx.Response) -> Iterator[str]:
        try:
            yield from response.iter_lines()
        except httpx.TransportError as exc:
            raise self._network(method, path, exc) from None

    def _network(self, method: str, path: str, exc: httpx.TransportError) -> AraConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            return AraConnectionError(f"{method} {path} failed (network): {self.base_url} did not answer in time")
        reason = str(exc) or type(exc).__name__
        return AraConnectionError(f"{method} {path} failed (network): cannot reach {self.base_url}: {reason}")
