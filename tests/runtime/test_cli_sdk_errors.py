"""Our ``ara auth`` / ``ara runtime`` refusals without a server: one line, exit 2, and a broken credentials file
never blocks the login that replaces it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ara.cli.main import app

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens


def ara(home: Path, *argv: str, **env: str | None) -> tuple[int, str, str]:
    base: dict[str, str | None] = {"HOME": str(home), "ARA_API_BASE_URL": NOWHERE, "ARA_API_KEY": None}
    base["ARA_ACCESS_TOKEN"] = None
    result = CliRunner().invoke(app, list(argv), env={**base, **env}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_a_broken_credentials_file_is_named_and_login_replaces_it(tmp_path: Path) -> None:
    (tmp_path / ".ara").mkdir()
    (tmp_path / ".ara" / "credentials.json").write_text("{half a file")
    code, _, err = ara(tmp_path, "status", ARA_API_BASE_URL=None)
    assert code == 2 and err.strip().endswith(
        "is not JSON (Expecting property name enclosed in double quotes); run `ara auth login` again"
    )
    code, out, err = ara(tmp_path, "auth", "login", "--api-key", "k2", ARA_API_BASE_URL=None)
    assert code == 0 and "could not verify API key" in err
    stored = json.loads((tmp_path / ".ara" / "credentials.json").read_text())
    assert (stored["api_key"], stored["api_base_url"]) == ("k2", "http://127.0.0.1:8000")
    assert json.loads(out)["status"] == "logged_in"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["auth", "whoami"], "Error: not logged in: run `ara auth login --api-key KEY` or set ARA_API_KEY"),
        (["auth", "rotate"], "Error: not logged in"),
        (["start"], "Error: No credentials found. Set ARA_API_KEY or run `ara auth login`."),
    ],
)
def test_no_key_is_one_line(tmp_path: Path, argv: list[str], says: str) -> None:
    code, out, err = ara(tmp_path, *argv)
    assert (code, out) == (2, "") and err.startswith(says) and len(err.strip().splitlines()) == 1


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    code, _, err = ara(tmp_path, "runtime", "skills", "list", "--session", "sess-1", ARA_API_KEY="k")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("Error: GET /session/runtime/skills?session_id=sess-1 failed (network): cannot reach")


@pytest.mark.parametrize(
    "argv",
    [
        ["auth", "login", "--timeout-seconds", "5"],
        ["runtime", "tools", "execute", "--session", "s", "--tool", "exec", "--arg", "no-equals-sign"],
        ["runtime", "tools", "list", "--session", "s", "--kind", "magic"],
        ["runtime", "control", "call", "--session", "s"],
    ],
)
def test_bad_usage_exits_2_before_any_request(tmp_path: Path, argv: list[str]) -> None:
    code, _, err = ara(tmp_path, *argv, ARA_API_KEY="k")
    assert code == 2 and "Traceback" not in err and "network" not in err


def test_login_refuses_a_server_url_it_could_never_reach(tmp_path: Path) -> None:
    code, _, err = ara(tmp_path, "auth", "login", "--api-key", "k", "--api-base-url", "127.0.0.1:8000")
    assert code == 2 and err.startswith("Error: '127.0.0.1:8000' is not a server URL")
    assert not (tmp_path / ".ara" / "credentials.json").exists()
