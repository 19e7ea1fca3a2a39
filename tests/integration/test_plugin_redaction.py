"""The values ``ARA_REDACT_FILE`` lists never leave ``ansible-playbook``, whichever plugin's client sends them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ara.clients.base import AraClient
from ara.plugins import shared
from ara.redaction import REDACT_FILE_ENV


def test_a_plugin_client_built_without_the_callback_redacts_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ara_record`` and the ``ara_api`` lookup fall back to a client of their own when the callback set none
    (it failed to start, or is not enabled): that client redacts as the callback's does."""
    sent: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.query + request.content)
        return httpx.Response(200, json={})

    redact = tmp_path / "redact.json"
    redact.write_text(json.dumps(["S3cr3t"]))
    monkeypatch.setenv(REDACT_FILE_ENV, str(redact))
    fake = AraClient("http://ara.invalid", lambda: httpx.Client(transport=httpx.MockTransport(answer)))
    monkeypatch.setattr(shared, "get_client", lambda **options: fake)
    monkeypatch.setattr(shared, "_client", None)
    client = shared.active_client()
    client.post("/api/v1/records", key="token", value="S3cr3t")
    client.get("/api/v1/records", key="S3cr3t")
    assert sent and not any(b"S3cr3t" in body for body in sent)
    assert b"[redacted]" in sent[0]
