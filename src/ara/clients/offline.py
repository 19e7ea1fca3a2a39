"""``AraOfflineClient``: the API with no server, running the app in this process (no port opened)."""

from __future__ import annotations

from typing import Any

import httpx

from ara.clients.base import USER_AGENT, AraClient, basic_auth
from ara.settings import Settings, get_settings


class AraOfflineClient(AraClient):
    """Applies migrations first unless ``run_sql_migrations=False`` (cheap when already at head).

    ``isolate=True`` runs the same app in a child process instead (``ara.clients.child``): still no server and
    no port, but the caller's process does none of the API's work (the Ansible callback's choice).
    """

    def __init__(
        self,
        auth: Any = None,
        run_sql_migrations: bool = True,
        settings: Settings | None = None,
        *,
        isolate: bool = False,
    ) -> None:
        self.settings = settings or get_settings()
        self.app: Any = None
        transport: httpx.BaseTransport
        if isolate:
            from ara.clients.child import ChildProcessTransport

            transport = ChildProcessTransport(self.settings, run_sql_migrations=run_sql_migrations)
        else:
            from ara.clients.inprocess import InProcessTransport
            from ara.server.app import create_app

            self.app = create_app(self.settings, run_migrations=run_sql_migrations)
            transport = InProcessTransport(self.app)
        self._transport = transport
        self.auth = basic_auth(auth)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}

        def make_http() -> httpx.Client:
            return httpx.Client(transport=transport, auth=self.auth, headers=headers, base_url="http://offline")

        super().__init__("http://offline", make_http)

    def close(self) -> None:
        super().close()
        self._transport.close()
        if self.app is not None:
            self.app.state.ara.engine.dispose()
