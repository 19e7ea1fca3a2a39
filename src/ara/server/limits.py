"""Request limits (body size, NUL-free paths), as pure ASGI middleware (not BaseHTTPMiddleware, whose stream
wrapping breaks background tasks and contextvars)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ara.errors import PayloadTooLarge, ValidationFailed
from ara.server.errors import error_response


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than {limit} bytes (server.max_body_bytes).")


class BodyLimit:
    """Answers 413 for a body over ``limit`` bytes before it is buffered.

    A declared ``Content-Length`` over the limit is refused without reading a byte; a chunked body is counted as
    it arrives and ``receive`` raises ``PayloadTooLarge`` (an ``AraError``, so the app's handler answers 413 with
    the usual error body) as soon as it passes the limit."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        if limit <= 0:
            raise ValueError("the body limit must be a positive number of bytes")
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            response = error_response(Request(scope), too_large(self.limit))
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, counted, send)


class NulFreePath:
    """Answers 400 for a path with a NUL character (``%00``) in it, whatever the route: no id or name of ours
    holds one, and PostgreSQL refuses NUL in text, so a path parameter carrying it used to reach the database
    and answer 500. One check here instead of one per path parameter."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "\x00" in scope.get("path", ""):
            error = ValidationFailed({"path": ["null characters are not allowed in the path."]})
            await error_response(Request(scope), error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
