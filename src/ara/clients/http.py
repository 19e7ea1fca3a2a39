"""``AraHttpClient``: the API over HTTP(S)."""

from __future__ import annotations

from typing import Any

import httpx

from ara.clients.base import USER_AGENT, AraClient, basic_auth


class AraHttpClient(AraClient):
    def __init__(
        self,
        endpoint: str = "http://127.0.0.1:8000",
        auth: Any = None,
        cert: str | tuple[str, str] | None = None,
        timeout: float = 30,
        verify: bool | str = True,
        token: str | None = None,
    ) -> None:
        self.auth = basic_auth(auth)
        self.cert = cert
        self.timeout = float(timeout)
        self.verify = verify
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"

        def make_http() -> httpx.Client:
            return httpx.Client(
                auth=self.auth, cert=cert, timeout=self.timeout, verify=verify, headers=headers, trust_env=False
            )

        super().__init__(endpoint, make_http)
