"""A pure ASGI middleware that sees every HTTP request end: its latency goes into
``ara_http_request_duration_seconds``, labelled by the matched route's template (``/api/v1/results/{pk}``, never
the raw path: ids would explode the label space), and one line into the access log.

The access log is ours, not uvicorn's: it leaves the query string out, where callers put what must not be
written down (the SDK's device-login ``poll_token``, stream tokens), and it costs less per request."""

from __future__ import annotations

import logging
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ara.server.metrics import Metrics

#: The route label of a request no route matched (a 404, or one answered before routing, e.g. a 401).
UNMATCHED = "unmatched"
STREAM = b"text/event-stream"
access_log = logging.getLogger("ara.access")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    path = str(getattr(route, "path_format", None) or getattr(route, "path", "") or UNMATCHED)
    return f"{path}/{{path}}" if isinstance(route, Mount) else path


class HttpMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes before the response starts ends as a 500
        stream = False

        async def sending(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = int(message["status"])
                stream = any(k == b"content-type" and v.startswith(STREAM) for k, v in message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                access_log.info(
                    '%s:%s - "%s %s HTTP/%s" %d',
                    *(client or ("-", "-")),
                    scope["method"],
                    scope["path"],
                    scope.get("http_version", "1.1"),
                    status,
                )
            if not stream:  # a live stream lasts as long as its reader watches: not a latency
                labels = (scope["method"], route_template(scope), str(status))
                self.metrics.requests.labels(*labels).observe(time.perf_counter() - started)
