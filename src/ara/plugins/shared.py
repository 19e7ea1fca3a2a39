"""The client the plugins share in one ``ansible-playbook`` process, and how to build one from ARA's settings.

The callback builds its client from its options and publishes it here; action and lookup plugins run in
workers forked from that process and use the same object (``AraClient`` rebuilds its connections after a
fork). Where no callback ran (``ansible`` ad hoc without callbacks, a lookup in another tool), a client is
built from the same ``ARA_API_*`` environment variables the callback reads.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ara.clients.base import AraClient
from ara.clients.settings import DEFAULT_SERVER, ClientSettings
from ara.plugins.redaction import redacting

_lock = threading.Lock()
_client: AraClient | None = None


def set_active_client(client: AraClient | None) -> None:
    global _client
    with _lock:
        _client = client


def active_client() -> AraClient:
    """The callback's client, or one built from the environment (and kept) when there is none."""
    global _client
    with _lock:
        if _client is None:
            _client = client_from_environment()
        return _client


def build_client(
    *,
    api_client: str = "offline",
    api_server: str = DEFAULT_SERVER,
    api_timeout: float = 30,
    api_username: str | None = None,
    api_password: str | None = None,
    api_cert: str | None = None,
    api_key: str | None = None,
    api_ca: str | None = None,
    api_insecure: bool = False,
    isolate: bool = False,
) -> AraClient:
    """A client from the callback's options (Ansible has merged its ini and environment already), through the
    one ``ClientSettings`` model the CLI uses too. ``isolate``: an offline client keeps the API's work out of
    this process (the callback's choice)."""
    settings = ClientSettings(
        client=api_client,  # type: ignore[arg-type]  # validated by the model
        server=api_server,
        timeout=api_timeout,
        username=api_username or None,
        password=api_password or None,
        cert=api_cert or None,
        key=api_key or None,
        ca=api_ca or None,
        insecure=api_insecure,
    )
    return redacting(settings.connect(isolate=isolate))


def client_from_environment(environ: Mapping[str, str] | None = None) -> AraClient:
    """A client from ``ARA_API_*`` alone (no callback ran in this process)."""
    if environ is None:
        return redacting(ClientSettings().connect())
    prefix = "ARA_API_"
    given = {name[len(prefix) :].lower(): value for name, value in environ.items() if name.startswith(prefix) and value}
    return redacting(ClientSettings.model_validate(given).connect())


def playbook_id_of_task(client: AraClient, task: Any) -> int:
    """The id of the playbook a running task belongs to, found through its play's uuid (the callback records the
    play before any of its tasks run). ``task`` is an Ansible ``Task``."""
    from ansible.playbook.play import Play

    node, play = task, None
    while node is not None and not isinstance(play, Play):
        play = getattr(node, "_play", None)
        node = getattr(node, "_parent", None)
    if not isinstance(play, Play):
        raise LookupError("cannot find the play of this task")
    play_uuid = str(play._uuid)[:36]
    plays = client.get("/api/v1/plays", uuid=play_uuid, order="-id", limit=1)
    if not plays["results"]:
        raise LookupError(f"no play with uuid {play_uuid} is recorded (is the ara_default callback enabled?)")
    return int(plays["results"][0]["playbook"])
