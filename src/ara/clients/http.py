"""``AraHttpClient``: the API over HTTP(S)."""

from __future__ import annotations

from typing import Any

import httpx

from ara.clients.base import KEEPALIVE_SECONDS, USER_AGENT, AraClient, basic_auth
from ara.clients.settings import DEFAULT_SERVER


class AraHttpClient(AraClient):
    def __init__(
        self,
        endpoint: str = DEFAULT_SERVER,
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
                auth=self.auth,
                cert=cert,
                timeout=self.timeout,
                verify=verify,
                headers=headers,
                trust_env=False,
                limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
            )

        super().__init__(endpoint, make_http)
