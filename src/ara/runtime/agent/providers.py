"""Which endpoint a ``provider/name`` model goes to. ``openai/…`` (and a name without a provider) reads the
server's standard ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, so any OpenAI-compatible endpoint (OpenAI, vLLM,
Ollama, llama.cpp) serves it; other providers come from ``settings.runtime.providers``. Clients are kept per
endpoint and key, so turns reuse their connections."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ara.errors import Unavailable, ValidationFailed
from ara.settings import RuntimeSettings

if TYPE_CHECKING:
    from openai import AsyncOpenAI

OPENAI = "openai"
_PROVIDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# A model call may stream for minutes (long answers); this bounds a stalled connection, not a whole answer.
READ_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class ModelRef:
    provider: str
    name: str  # what the endpoint is asked for: the model without its provider prefix

    def __str__(self) -> str:
        return f"{self.provider}/{self.name}"


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None  # None: the openai package's own default (api.openai.com)
    api_key: str


def parse_model(model: str | None, settings: RuntimeSettings) -> ModelRef:
    """``provider/name`` (the name may hold more slashes: ``local/meta/llama-3``); no prefix means ``openai/``;
    none given means ``settings.default_model``. A malformed model or unknown provider is a 400 on ``model``."""
    if model is not None and not isinstance(model, str):
        raise ValidationFailed({"model": ["must be a string like 'openai/gpt-4o-mini'"]})
    given = (model or "").strip() or settings.default_model
    provider, slash, name = given.partition("/")
    if not slash:
        provider, name = OPENAI, given
    if not _PROVIDER.match(provider) or not name.strip() or any(ch.isspace() for ch in given):
        raise ValidationFailed({"model": [f"{given!r} is not a model name like 'openai/gpt-4o-mini'"]})
    if provider != OPENAI and provider not in settings.providers:
        known = ", ".join(sorted({OPENAI, *settings.providers}))
        raise ValidationFailed({"model": [f"unknown model provider {provider!r} (known: {known})"]})
    return ModelRef(provider, name)


def endpoint_for(ref: ModelRef, settings: RuntimeSettings, environ: Mapping[str, str] = os.environ) -> Endpoint:
    """Read at each turn, so a changed environment or setting applies without a restart of the client cache."""
    if ref.provider == OPENAI:
        key = environ.get("OPENAI_API_KEY", "")
        if not key:
            raise Unavailable(
                "model provider 'openai' has no API key: set OPENAI_API_KEY in the server's environment "
                "(any value for a local endpoint that checks none)"
            )
        return Endpoint(environ.get("OPENAI_BASE_URL") or None, key)
    provider = settings.providers[ref.provider]
    key = environ.get(provider.api_key_env, "") if provider.api_key_env else ""
    # An endpoint without a key (a local server) still needs a value for the client; it is never sent anywhere
    # that asked for one.
    return Endpoint(provider.base_url, key or "unused")


class ModelClients:
    """One ``AsyncOpenAI`` per endpoint and key, for the server's lifetime (``close`` at shutdown)."""

    def __init__(self) -> None:
        self._clients: dict[Endpoint, AsyncOpenAI] = {}

    def client(self, endpoint: Endpoint) -> AsyncOpenAI:
        found = self._clients.get(endpoint)
        if found is None:
            # Imported on the first turn: ``openai`` takes ~0.4 s to import, which every server start and every
            # offline client (the Ansible callback builds the app in-process) would pay for nothing.
            from openai import AsyncOpenAI

            # No retries: a turn reports the provider's error at once instead of waiting through back-offs.
            found = AsyncOpenAI(
                base_url=endpoint.base_url, api_key=endpoint.api_key, max_retries=0, timeout=READ_TIMEOUT_SECONDS
            )
            self._clients[endpoint] = found
        return found

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
