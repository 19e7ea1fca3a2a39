"""``python3 -m ara.setup.*`` print where the plugins are, as ARA's modules of the same names do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import ara

PACKAGE = Path(ara.__file__).resolve().parent
PLUGINS = PACKAGE / "plugins"


def setup_output(module: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | env
    command = [sys.executable, "-m", f"ara.setup.{module}"]
    return subprocess.run(command, check=True, capture_output=True, text=True, env=environ).stdout


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("path", PACKAGE),
        ("plugins", PLUGINS),
        ("callback_plugins", PLUGINS / "callback"),
        ("action_plugins", PLUGINS / "action"),
        ("lookup_plugins", PLUGINS / "lookup"),
    ],
)
def test_paths(module: str, expected: Path) -> None:
    assert setup_output(module) == f"{expected}\n"
    assert expected.is_dir()


def test_plugin_files_are_where_the_paths_say() -> None:
    assert (PLUGINS / "callback" / "ara_default.py").is_file()
    assert {p.name for p in (PLUGINS / "action").glob("ara_*.py")} >= {"ara_record.py", "ara_playbook.py"}
    assert (PLUGINS / "lookup" / "ara_api.py").is_file()


def export(variable: str, folder: str) -> str:
    return f"export {variable}=${{{variable}:-}}${{{variable}+:}}{PLUGINS / folder}"


def test_env() -> None:
    assert setup_output("env").splitlines() == [
        export("ANSIBLE_CALLBACK_PLUGINS", "callback"),
        export("ANSIBLE_ACTION_PLUGINS", "action"),
        export("ANSIBLE_LOOKUP_PLUGINS", "lookup"),
    ]


def test_env_in_a_virtualenv_exports_pythonpath() -> None:
    lines = setup_output("env", VIRTUAL_ENV="/some/venv").splitlines()
    assert len(lines) == 4
    assert lines[3].startswith("export PYTHONPATH=${PYTHONPATH:-}${PYTHONPATH+:}")


def test_env_is_usable_by_a_shell() -> None:
    script = setup_output("env") + 'printf "%s\\n" "$ANSIBLE_CALLBACK_PLUGINS"'
    shown = subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True, env={}).stdout
    assert shown == f"{PLUGINS / 'callback'}\n"


def test_ansible_cfg() -> None:
    assert setup_output("ansible").splitlines() == [
        "[defaults]",
        f"callback_plugins={PLUGINS / 'callback'}",
        f"action_plugins={PLUGINS / 'action'}",
        f"lookup_plugins={PLUGINS / 'lookup'}",
    ]
