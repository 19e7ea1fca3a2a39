"""``AraOfflineClient``: the API with no server, running the app in this process (no port opened)."""

from __future__ import annotations

from typing import Any

import httpx

from ara.clients.base import USER_AGENT, AraClient, basic_auth
from ara.clients.inprocess import InProcessTransport
from ara.settings import Settings, get_settings


class AraOfflineClient(AraClient):
    """Applies migrations first unless ``run_sql_migrations=False`` (cheap when already at head)."""

    def __init__(self, auth: Any = None, run_sql_migrations: bool = True, settings: Settings | None = None) -> None:
        from ara.server.app import create_app  # the one place a client builds the server

        self.settings = settings or get_settings()
        self.app = create_app(self.settings, run_migrations=run_sql_migrations)
        transport = InProcessTransport(self.app)
        self.auth = basic_auth(auth)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}

        def make_http() -> httpx.Client:
            return httpx.Client(transport=transport, auth=self.auth, headers=headers, base_url="http://offline")

        super().__init__("http://offline", make_http)

    def close(self) -> None:
        super().close()
        self.app.state.ara.engine.dispose()
