"""``ara_sdk.config``: the credentials file as ara-sdk keeps it, and which server and key win."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ara_sdk import AraRuntimeClient, config
from ara_sdk.errors import CredentialsError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("ARA_API_BASE_URL", "ARA_API_KEY", "ARA_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_saved_key_is_private_and_shaped_like_the_sdk(home: Path) -> None:
    path = config.save_api_key("k-1", "http://127.0.0.1:9999")
    assert path == home / ".ara" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())
    assert set(stored) == {"auth_type", "api_base_url", "api_key", "updated_at"}
    assert (stored["auth_type"], stored["api_base_url"], stored["api_key"]) == (
        "cli_api_key",
        "http://127.0.0.1:9999",
        "k-1",
    )
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary file left behind


def test_an_existing_loose_directory_is_tightened(home: Path) -> None:
    (home / ".ara").mkdir(mode=0o755)
    (home / ".ara").chmod(0o755)
    config.save_api_key("k", "http://x")
    assert stat.S_IMODE((home / ".ara").stat().st_mode) == 0o700


def test_environment_wins_then_file_then_local_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.resolve_api_base_url() == "http://127.0.0.1:8000"
    assert config.resolve_user_key() == "" and config.key_source() == "none"
    config.save_api_key("stored", "http://stored:1")
    assert (config.resolve_api_base_url(), config.resolve_user_key(), config.key_source()) == (
        "http://stored:1",
        "stored",
        "cli_api_key",
    )
    monkeypatch.setenv("ARA_ACCESS_TOKEN", "legacy")
    assert (config.resolve_user_key(), config.key_source()) == ("legacy", "env")
    monkeypatch.setenv("ARA_API_KEY", "from-env")
    monkeypatch.setenv("ARA_API_BASE_URL", "http://env:2")
    assert (config.resolve_api_base_url(), config.resolve_user_key()) == ("http://env:2", "from-env")


def test_logout_removes_the_file_once() -> None:
    config.save_api_key("k", "http://x")
    assert config.clear_credentials() is True
    assert config.clear_credentials() is False
    assert config.resolve_user_key() == ""


def test_a_broken_file_is_reported_not_ignored(home: Path) -> None:
    (home / ".ara").mkdir()
    (home / ".ara" / "credentials.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="is not JSON"):
        config.resolve_user_key()
    (home / ".ara" / "credentials.json").write_text("[1]")
    with pytest.raises(CredentialsError, match="JSON object"):
        config.load_credentials()


def test_from_env_reads_a_projects_dotenv_without_overriding(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = home / "project"
    project.mkdir()
    (project / ".env").write_text("# comment\nARA_API_KEY='from-dotenv'\nARA_API_BASE_URL=\"http://dotenv:3\"\nnoise\n")
    monkeypatch.setenv("ARA_API_BASE_URL", "http://env-wins:4")
    monkeypatch.setattr(os, "environ", dict(os.environ))  # read_dotenv writes os.environ: keep it to this test
    client = AraRuntimeClient.from_env(cwd=str(project))
    assert (client.http.api_key, client.http.base_url, client.cwd) == ("from-dotenv", "http://env-wins:4", project)
    client.close()


def test_from_env_without_any_key_says_how_to_log_in(home: Path) -> None:
    with pytest.raises(CredentialsError, match="Set ARA_API_KEY or run `ara auth login`"):
        AraRuntimeClient.from_env(cwd=str(home))


def test_an_unwritable_place_is_a_clear_error(home: Path) -> None:
    (home / ".ara").write_text("a file where the directory should be")
    with pytest.raises(CredentialsError, match=r"cannot write .*credentials.json"):
        config.save_api_key("k", "http://x")
