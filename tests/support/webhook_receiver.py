"""A webhook receiver on 127.0.0.1 for tests: keeps every POST (headers and raw body) and answers 200, so a test
can verify a delivery's signature itself, as the app author's receiver would."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes


def signature_ok(secret: str, delivery: Delivery) -> bool:
    """``X-Ara-Signature: sha256=HMAC(secret, "{timestamp}.{delivery_id}.{body}")``, compared in constant time."""
    timestamp = delivery.headers.get("x-ara-timestamp", "")
    delivery_id = delivery.headers.get("x-ara-delivery-id", "")
    signed = f"{timestamp}.{delivery_id}.".encode() + delivery.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    given = delivery.headers.get("x-ara-signature", "")
    return bool(timestamp and delivery_id) and hmac.compare_digest(expected, given)


class Receiver:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.deliveries.append(Delivery(self.path, headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait_for(self, path: str, timeout: float = 60.0) -> Delivery:
        """The first delivery to ``path``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in list(self.deliveries):
                if delivery.path == path:
                    return delivery
            time.sleep(0.05)
        raise AssertionError(f"no delivery to {path} within {timeout} s (got {[d.path for d in self.deliveries]})")


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver._thread.start()
    try:
        yield receiver
    finally:
        receiver._server.shutdown()
        receiver._server.server_close()
