"""The values ``ARA_REDACT_FILE`` lists never leave ``ansible-playbook``, whichever plugin's client sends them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ara.plugins import shared
from ara.redaction import REDACT_FILE_ENV
from ara.settings import Settings
from tests.support.server import running_server


def test_a_plugin_client_built_without_the_callback_redacts_too(
    tmp_path: Path, sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ara_record`` and the ``ara_api`` lookup fall back to a client of their own when the callback set none
    (it failed to start, or is not enabled): that client redacts as the callback's does, on a real server."""
    redact = tmp_path / "redact.json"
    redact.write_text(json.dumps(["S3cr3t"]))
    monkeypatch.setenv(REDACT_FILE_ENV, str(redact))
    with running_server(sqlite_settings) as url:
        monkeypatch.setenv("ARA_API_CLIENT", "http")
        monkeypatch.setenv("ARA_API_SERVER", url)
        monkeypatch.setattr(shared, "_client", None)
        client = shared.active_client()
        try:
            playbook = client.post("/api/v1/playbooks", path="/site.yml", status="running", ansible_version="2.17.0")
            client.post(
                "/api/v1/records", playbook=playbook["id"], key="token", value="S3cr3t: token=S3cr3t", type="text"
            )
            stored = client.get("/api/v1/records", playbook=playbook["id"])["results"]
            detail = client.get(f"/api/v1/records/{stored[0]['id']}")
        finally:
            client.close()
            monkeypatch.setattr(shared, "_client", None)
    assert detail["value"] == "[redacted]: token=[redacted]"
    assert "S3cr3t" not in json.dumps(detail)
