"""The cached upstream virtualenv (tests/support/upstream.py): keyed by what it holds, never sees our package."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support import upstream as support
from tests.support.upstream import CLIENT_REQUIREMENTS, SERVER_REQUIREMENTS, UpstreamVenv

pytestmark = pytest.mark.compat


def test_clean_environ_hides_our_tree() -> None:
    environ = support.clean_environ({"PYTHONPATH": "/work/main/src", "VIRTUAL_ENV": "/x", "PATH": "/bin"})
    assert environ == {"PATH": "/bin", "PYTHONNOUSERSITE": "1"}


def test_cache_folder_is_keyed_by_requirements(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ARA_TEST_CACHE", str(tmp_path))
    client, server = support.venv_dir(CLIENT_REQUIREMENTS), support.venv_dir(SERVER_REQUIREMENTS)
    assert client.parent == server.parent == tmp_path
    assert client != server and client == support.venv_dir(list(CLIENT_REQUIREMENTS))
    assert client.name.startswith("upstream-ara-1.8.0-py3")


def test_half_built_or_other_venv_is_not_reused(tmp_path: Path) -> None:
    assert support._probe(tmp_path, CLIENT_REQUIREMENTS) is None  # no marker: an interrupted build
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to("/bin/false")
    (tmp_path / support.MARKER).write_text(json.dumps({"requirements": list(SERVER_REQUIREMENTS)}))
    assert support._probe(tmp_path, CLIENT_REQUIREMENTS) is None  # built for something else
    (tmp_path / support.MARKER).write_text(json.dumps({"requirements": list(CLIENT_REQUIREMENTS)}))
    assert support._probe(tmp_path, CLIENT_REQUIREMENTS) is None  # its Python no longer runs


def test_venv_runs_upstream_not_ours(upstream: UpstreamVenv) -> None:
    assert upstream.ansible_version.startswith("2.")
    done = subprocess.run(
        [str(upstream.python), "-c", "import ara.records"],  # our package; upstream has no ara.records
        env=upstream.environ(),
        capture_output=True,
        text=True,
        cwd=upstream.path,
    )
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr
    assert Path(upstream.setup_path("callback_plugins")).is_relative_to(upstream.path)
    # the client-only install brings the CLI's dependencies (cliff, requests) and no Django
    check = "import cliff, requests, importlib.util as u; assert u.find_spec('django') is None"
    subprocess.run([str(upstream.python), "-c", check], env=upstream.environ(), check=True, cwd=upstream.path)
