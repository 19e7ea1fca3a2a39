"""``ARA_API_KEY`` is ara-sdk's user API key and ARA's client-certificate key file: the records commands take it as
a key file only with a certificate or when it names a file, so exporting a user key never breaks them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ara.cli.main import app
from ara.clients.settings import ClientSettings
from ara.settings import get_settings


def test_a_user_key_is_not_a_key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARA_API_KEY", "ara_user-key")
    assert ClientSettings().key is None
    assert ClientSettings(cert="/some/cert.pem").key == "ara_user-key"  # with a certificate: ARA's meaning
    key_file = tmp_path / "client.key"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\n")
    monkeypatch.setenv("ARA_API_KEY", str(key_file))
    assert ClientSettings().key == str(key_file)


def test_records_commands_work_with_a_user_key_exported(tmp_path: Path) -> None:
    env = {"ARA_BASE_DIR": str(tmp_path), "ARA_API_KEY": "ara_user-key", "ARA_API_CLIENT": None, "ARA_API_CERT": None}
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["playbook", "list", "-f", "json"], env=env)
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "[]"
