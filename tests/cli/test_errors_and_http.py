"""Every failure exits 2 with one line on stderr; the http client against a live server on both databases;
and the installed ``ara`` run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ara.clients.base import AraClient
from ara.clients.http import AraHttpClient
from ara.settings import Settings
from tests.cli.conftest import Cli
from tests.support.factories import record_playbook
from tests.support.server import free_port, running_server


def test_error_paths(cli: Cli, api: AraClient) -> None:
    pid = str(record_playbook(api).playbook["id"])
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert cli("playbook", "show", "999").error.strip() == "Error: playbook 999 not found"
    assert "result 999 not found" in cli("result", "delete", "999").error
    assert "cannot connect to " + nowhere in cli("playbook", "list", "--client", "http", "--server", nowhere).error
    assert "cannot connect" in cli("playbook", "list", ARA_API_CLIENT="http", ARA_API_SERVER=nowhere).error
    for noun in ("playbook", "play", "task", "result"):
        assert "'bogus' is not one of" in cli(noun, "list", "--status", "bogus").error
    assert "'xml' is not one of" in cli("playbook", "list", "-f", "xml").error
    refused = cli("playbook", "list", "--order", "colour").error
    assert "the API refused the request: order: Select a valid choice. colour" in refused
    assert "Unsupported API client 'pigeon'" in cli("playbook", "list", "--client", "pigeon").error
    assert "Unsupported API client" in cli("playbook", "list", ARA_API_CLIENT="pigeon").error
    not_a_number = cli("playbook", "list", ARA_API_TIMEOUT="soon").error
    assert "ARA_API_TIMEOUT='soon': Input should be a valid number" in not_a_number
    assert "ARA_CLI_LIMIT='many'" in cli("playbook", "list", ARA_CLI_LIMIT="many").error
    assert "cannot be used together" in cli("host", "list", "--with-failed", "--without-failed").error
    assert "cannot be combined" in cli("result", "list", "--status", "changed", "--status", "ok").error
    assert "Invalid value" in cli("playbook", "show", "first").error
    assert "Invalid value" in cli("playbook", "list", "--limit", "0").error
    missing = cli("playbook", "list", "--client", "http", "--ssl-cert", "/no/cert", "--ssl-key", "/no/key").error
    assert "could not be found: /no/cert" in missing
    assert "No such option" in cli("playbook", "list", "--colour").error
    no_database = f"postgresql://ara@127.0.0.1:{free_port()}/ara"
    assert "database error" in cli("playbook", "list", ARA_DATABASE__URL=no_database).error
    assert "database error" in cli("user", "list", ARA_DATABASE__URL=no_database).error
    assert json.loads(cli.ok("playbook", "show", pid, "-f", "json").stdout)["id"] == int(pid)  # still fine


def test_http_client_on_both_databases(settings: Settings) -> None:
    """Prepared over HTTP, listed over HTTP (client options on the command, before it, or in ARA_API_*) and
    offline on the same database."""
    with running_server(settings) as url, AraHttpClient(endpoint=url) as http:
        failed = record_playbook(http, status="failed", labels=("prod",))
        record_playbook(http, status="completed")
        cli = Cli(settings)
        expected = http.get("/api/v1/playbooks", status="failed", order="-started")["results"]
        assert [p["id"] for p in expected] == [failed.playbook["id"]]
        on_command = ("--client", "http", "--server", url, "--timeout", "5")
        assert cli.json("playbook", "list", "--status", "failed", *on_command) == expected
        assert cli.json("--client", "http", "--server", url, "playbook", "list", "--status", "failed") == expected
        from_env = {"ARA_API_CLIENT": "http", "ARA_API_SERVER": url, "ARA_API_TIMEOUT": "5"}
        assert cli.json("playbook", "list", "--status", "failed", **from_env) == expected

        labelled = cli.json("playbook", "list", "--label", "prod", *on_command)
        assert [p["id"] for p in labelled] == [failed.playbook["id"]]
        failures = cli.json("result", "list", "--status", "failed", "--playbook", "1", *on_command)
        assert {r["status"] for r in failures} == {"failed"} and len(failures) == 2
        assert "playbook 42 not found" in cli("playbook", "show", "42", *on_command).error
        offline = cli.json("playbook", "list", "--status", "failed", "--client", "offline", **from_env)
        assert offline == expected


def _ara(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from ara.cli.main import main; main()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_a_real_process(sqlite_settings: Settings, api: AraClient) -> None:
    record_playbook(api, status="failed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    env.update(ARA_BASE_DIR=str(sqlite_settings.base_dir), ARA_DATABASE__URL=sqlite_settings.database_url)
    listed = _ara("playbook", "list", "--status", "failed", "-f", "json", env=env)
    assert listed.returncode == 0 and [p["status"] for p in json.loads(listed.stdout)] == ["failed"]
    missing = _ara("task", "show", "77", env=env)
    assert (missing.returncode, missing.stdout, missing.stderr) == (2, "", "Error: task 77 not found\n")
    down = _ara("playbook", "list", "--client", "http", "--server", f"http://127.0.0.1:{free_port()}", env=env)
    assert down.returncode == 2 and down.stderr.startswith("Error: cannot connect") and "Traceback" not in down.stderr
