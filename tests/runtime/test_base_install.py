"""``pip install ara-platform`` without extras: ``ara_sdk``, ``ara --help``, ``ara auth`` and ``ara runtime`` work,
no server package is installed, and a server command says which extra it needs (exit 2, no traceback)."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.base_install import BaseInstall, install_base


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> BaseInstall:
    return install_base(tmp_path_factory.mktemp("base-install"))


def _run(base: BaseInstall, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = base.environ(HOME=str(tmp_path), ARA_API_BASE_URL="http://127.0.0.1:9")  # port 9: nothing listens
    env.pop("ARA_API_KEY", None)
    return subprocess.run(list(argv), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_no_server_package_and_the_sdk_imports(base: BaseInstall, tmp_path: Path) -> None:
    code = (
        "import importlib.util as u, sys, ara_sdk; "
        "from ara_sdk import App, AraRuntimeClient, runtime; "
        "assert App('base-app', runtime_profile=runtime(model='m')).manifest['runtime_profile'] == {'model': 'm'}; "
        "assert '/site-packages/' in ara_sdk.__file__, ara_sdk.__file__; "
        "print([m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'alembic', 'openai') if u.find_spec(m)])"
    )
    done = _run(base, tmp_path, str(base.python), "-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv", [["--help"], ["runtime", "--help"]])
def test_help_works(base: BaseInstall, tmp_path: Path, argv: list[str]) -> None:
    done = _run(base, tmp_path, str(base.bin("ara")), *argv)
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout


def test_auth_login_keeps_the_key_even_when_the_server_is_away(base: BaseInstall, tmp_path: Path) -> None:
    done = _run(base, tmp_path, str(base.bin("ara")), "auth", "login", "--api-key", "ara_k1")
    assert done.returncode == 0, done.stderr
    assert "Warning: could not verify API key against server" in done.stderr
    assert json.loads(done.stdout)["status"] == "logged_in"
    path = tmp_path / ".ara" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["api_key"] == "ara_k1"
    # a runtime command then fails on the network, in one line
    done = _run(base, tmp_path, str(base.bin("ara")), "status")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("Error: GET /session/status failed (network)")


@pytest.mark.parametrize("argv", [["server"], ["playbook", "list"]])
def test_server_commands_name_the_extra(base: BaseInstall, tmp_path: Path, argv: list[str]) -> None:
    done = _run(base, tmp_path, str(base.bin("ara")), *argv)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "pip install 'ara-platform[server]'" in done.stderr


def test_ssh_proxy_works_in_the_base_install(base: BaseInstall, tmp_path: Path) -> None:
    """``ara ssh-proxy`` (OpenSSH's ProxyCommand) needs only the base install; a server away is one line, exit 2."""
    done = _run(base, tmp_path, str(base.bin("ara")), "ssh-proxy", "--token", "t")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("Error: cannot reach ws://127.0.0.1:9/session/ssh/proxy")


def test_app_commands_work_in_the_base_install(base: BaseInstall, tmp_path: Path) -> None:
    """``ara deploy app.py`` and ``ara run app.py`` need only the base install: the app file loads, the manifest is
    built, and the server away is one line with exit 2."""
    app = "from ara_sdk import App\n\napp = App('base-app')\n\n@app.agent()\ndef hi(input):\n    return 'hi'\n"
    (tmp_path / "app.py").write_text(app)
    (tmp_path / ".ara").mkdir()
    (tmp_path / ".ara" / "credentials.json").write_text(json.dumps({"auth_type": "cli_api_key", "api_key": "k"}))
    for argv in (["deploy", "app.py"], ["run", "app.py", "--message", "hi"]):
        done = _run(base, tmp_path, str(base.bin("ara")), *argv)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (argv, done.stderr)
        assert done.stderr.startswith("Error: GET /apps failed (network): cannot reach http://127.0.0.1:9"), done.stderr
