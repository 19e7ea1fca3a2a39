"""A pure ASGI middleware keeping every exchange a test's server had: method, path, request headers and body, status
and response body (streamed answers too, chunk by chunk). Tests use it to compare what two clients sent for the
same command and to prove a value never left the server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0
    answer: bytearray = field(default_factory=bytearray)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def answer_json(self) -> Any:
        return json.loads(bytes(self.answer)) if self.answer else None


class HttpWatch:
    """Wraps an ASGI app; ``exchanges`` in the order requests arrived."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def mark(self) -> int:
        """Where the next command's exchanges will start (``since(mark)`` reads them)."""
        with self._lock:
            return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges[mark:])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode()
        exchange = Exchange(scope["method"], scope["path"] + (f"?{query}" if query else ""), headers)
        with self._lock:
            self.exchanges.append(exchange)

        async def reading() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.body += message.get("body", b"")
            return message

        async def watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            elif message["type"] == "http.response.body":
                exchange.answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, reading, watching)
