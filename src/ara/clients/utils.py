"""``get_client``: a client from ARA-style options, as ARA's helper of the same name builds one."""

from __future__ import annotations

import os
from typing import Any

from ara.clients.base import AraClient
from ara.clients.settings import DEFAULT_SERVER


def get_client(
    client: str = "offline",
    endpoint: str = DEFAULT_SERVER,
    timeout: float = 30,
    username: str | None = None,
    password: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    verify: bool | str = True,
    run_sql_migrations: bool = True,
    token: str | None = None,
    isolate: bool = False,
) -> AraClient:
    """``isolate``: the offline client runs the API in a child process (see ``AraOfflineClient``)."""
    auth: Any = (username, password) if username and password else None
    if isinstance(verify, str):
        _check_readable(verify)
    cert_pair = None
    if cert is not None and key is not None:
        _check_readable(cert)
        _check_readable(key)
        cert_pair = (cert, key)
    elif cert is not None or key is not None:
        raise ValueError("A key must be specified together with a certificate.")

    if client == "offline":
        from ara.clients.offline import AraOfflineClient

        return AraOfflineClient(auth=auth, run_sql_migrations=run_sql_migrations, isolate=isolate)
    if client == "http":
        from ara.clients.http import AraHttpClient

        return AraHttpClient(endpoint=endpoint, timeout=timeout, auth=auth, cert=cert_pair, verify=verify, token=token)
    raise ValueError(f"Unsupported API client: {client} (use 'http' or 'offline')")


def _check_readable(path: str) -> None:
    if not os.path.exists(path):
        raise ValueError(f"Specified file could not be found: {path}")
    if not os.access(path, os.R_OK):
        raise ValueError(f"Specified file was found but can't be read: {path}")
