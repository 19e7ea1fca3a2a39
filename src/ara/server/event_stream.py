"""A Server-Sent Events response that keeps an idle stream alive and ends its producer however the stream ends.

Starlette's ``StreamingResponse`` sends only what its iterator yields, so a turn that waits on a slow model or a
long tool sends nothing for minutes: ara-sdk's ``chat()`` gives up after 120 s without a line, and proxies close
idle connections sooner. This one writes an SSE comment (``: keep-alive``, which every SSE reader skips) after
``keepalive_seconds`` without output, and when the client goes away it cancels the producer and closes it at
once (its clean-up, such as closing the turn's play, runs now, not when the generator is collected)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

KEEPALIVE = b": keep-alive\n\n"


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        events: AsyncIterator[str],
        *,
        headers: Mapping[str, str] | None = None,
        keepalive_seconds: float = 15.0,
        background: BackgroundTask | None = None,
        keepalive: bytes = KEEPALIVE,
    ) -> None:
        """``keepalive``: the comment an idle stream writes (the app log stream's is ``: ping``)."""
        self.events = events
        self.keepalive_seconds = keepalive_seconds
        self.keepalive = keepalive
        self.status_code = 200
        self.background = background
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = False
        lock = anyio.Lock()
        last_write = anyio.current_time()

        async def write(data: bytes) -> None:
            nonlocal last_write, gone
            async with lock:
                try:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                except OSError:  # the client went away (ASGI 2.4 servers say so here)
                    gone = True
                    group.cancel_scope.cancel()
                last_write = anyio.current_time()

        async def keep_alive() -> None:
            while True:
                await anyio.sleep(max(0.0, last_write + self.keepalive_seconds - anyio.current_time()))
                if anyio.current_time() - last_write >= self.keepalive_seconds:
                    await write(self.keepalive)

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            group.cancel_scope.cancel()

        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(keep_alive)
                group.start_soon(watch)
                async for chunk in self.events:
                    await write(chunk.encode("utf-8"))
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.events.aclose()  # a no-op when the producer ran to its end
        if not gone:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            if self.background is not None:
                await self.background()
