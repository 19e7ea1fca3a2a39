"""Values the callback must never record: whoever starts ``ansible-playbook`` (Ara's ``ansible`` action) names a
JSON file listing them in ``ARA_REDACT_FILE``, and every call the callback's client makes is scrubbed of them
before it is sent (or spooled), so a secret never reaches the API, whichever plugin or path the call comes from."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from ara.clients.base import AraClient
from ara.redaction import REDACT_FILE_ENV, scrub_tree

__all__ = ["REDACT_FILE_ENV", "redacting", "scrubber", "values_from_environment"]


def values_from_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """The listed values; none when the variable is unset. A file that is named but unreadable is an error:
    recording the run unredacted would be worse than not recording it."""
    path = (os.environ if environ is None else environ).get(REDACT_FILE_ENV)
    if not path:
        return []
    with open(path, encoding="utf-8") as source:
        values = json.load(source)
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{REDACT_FILE_ENV} must name a JSON list of strings")
    return [v for v in values if v]


def redacting(client: AraClient, values: list[str] | None = None) -> AraClient:
    """``client``, whose every request (``send`` is the one path all of get/post/patch/put/delete take) has its
    body and query scrubbed of ``values`` (default: those named by ``ARA_REDACT_FILE``)."""
    secrets = values_from_environment() if values is None else values
    if not secrets:
        return client
    send = client.send

    def scrubbed_send(
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return send(method, path, params=scrub_tree(params, secrets), body=scrub_tree(body, secrets), headers=headers)

    client.send = scrubbed_send  # type: ignore[method-assign]
    return client


def scrubber(values: list[str] | None = None) -> Callable[[Any], Any] | None:
    """What the spool applies to each body before writing it (``None`` when there is nothing to redact), so a
    secret never reaches the disk either."""
    secrets = values_from_environment() if values is None else values
    if not secrets:
        return None
    return lambda body: scrub_tree(body, secrets)
