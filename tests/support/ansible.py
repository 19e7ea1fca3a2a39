"""Run the real ``ansible-playbook`` with Ara's plugins, as a subprocess, against a test database or server.

The playbooks live in ``tests/integration/playbooks/`` and use only what any ARA-compatible callback
understands (the upstream ara 1.8 callback runs them too), each with the inventory ``hosts.yml`` beside it:

``lifecycle.yml``
    three plays on ``localhost`` and two local hosts (``web-é``, ``db-日本``): gather_facts on localhost,
    a handler notified by a changed task, ``loop`` and ``with_items``, ``delegate_to`` (a fixed host, and an
    item variable in a loop), a failing task with ``ignore_errors``, ``block``/``rescue``/``always``, a
    skipped task, ``ara_playbook_name``, ``ara_playbook_labels``, and non-ASCII and over-long (> 255
    characters) play, task, host and label names. It ends without failure (exit code 0).
``records.yml``
    ``ara_record`` of every type (text, url, json, list, dict), written twice to show idempotence, plus
    ``ara_playbook``, ``ara_label`` (add, then remove) and the ``ara_api`` lookup reading back what was
    recorded; the playbook's own ``assert`` checks what the plugins returned.
``failures.yml``
    an unreachable host (ssh to a closed port on 127.0.0.1) next to a healthy one, then a task failing on the
    healthy host: the run goes on to the end and the playbook is failed (exit code 4 or 2).
``options.yml``
    gathers facts and runs one task on localhost, for checking the callback's options.
``slow.yml``
    a few quick tasks then a long ``pause``, for interrupting the run with a signal.

The inventory sets ``ansible_python_interpreter`` to ``{{ ansible_playbook_python }}`` so modules run with the
controller's Python; tests start ``python -m ansible playbook`` with ``sys.executable``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ara.settings import Settings
from ara.setup import action_plugins, callback_plugins, lookup_plugins

PLAYBOOKS = Path(__file__).resolve().parent.parent / "integration" / "playbooks"
INVENTORY = PLAYBOOKS / "hosts.yml"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def ara_warnings(self) -> list[str]:
        """Lines of Ansible warnings that mention ara (a warning may wrap over several lines; counted once)."""
        return [line for line in self.output.splitlines() if "[WARNING]" in line and "ara" in line.lower()]


def ansible_env(
    tmp_path: Path, *, client: str = "offline", settings: Settings | None = None, server: str = ""
) -> dict[str, str]:
    """Environment for ``ansible-playbook`` with our plugins: the offline client on ``settings``' database, or
    the http client on ``server``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "ARA_"))}
    local_tmp = tmp_path / "ansible-local"
    env.update(
        ANSIBLE_CALLBACK_PLUGINS=callback_plugins,
        ANSIBLE_ACTION_PLUGINS=action_plugins,
        ANSIBLE_LOOKUP_PLUGINS=lookup_plugins,
        # A notification callback found on the path loads without this; listing it keeps it explicit.
        ANSIBLE_CALLBACKS_ENABLED="ara_default",
        ANSIBLE_LOCAL_TEMP=str(local_tmp),
        ANSIBLE_REMOTE_TEMP=str(tmp_path / "ansible-remote"),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_DEPRECATION_WARNINGS="False",
        ARA_API_CLIENT=client,
        # What the http client could not send waits here, never in the user's own ~/.ara/spool.
        ARA_SPOOL_DIR=str(tmp_path / "spool"),
    )
    if client == "offline":
        if settings is None:
            raise ValueError("the offline client needs settings (its database)")
        env["ARA_BASE_DIR"] = str(settings.base_dir)
        env["ARA_DATABASE__URL"] = settings.database_url
    else:
        env["ARA_API_SERVER"] = server
        env["ARA_API_TIMEOUT"] = "5"
    return env


def run_playbook(
    playbook: str,
    env: Mapping[str, str],
    *args: str,
    inventory: Path = INVENTORY,
    timeout: float = 120,
) -> Run:
    """``ansible-playbook -i <inventory> <playbook>`` with ``env``; never raises on a non-zero exit code."""
    command = [
        sys.executable,
        "-m",
        "ansible",
        "playbook",
        "-i",
        str(inventory),
        str(PLAYBOOKS / playbook),
        *args,
    ]
    started = time.monotonic()
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=timeout, cwd=PLAYBOOKS)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def start_playbook(
    playbook: str, env: Mapping[str, str], *args: str, inventory: Path = INVENTORY
) -> subprocess.Popen[str]:
    """Like ``run_playbook`` but returns the running process (to signal it)."""
    command = [
        sys.executable,
        "-m",
        "ansible",
        "playbook",
        "-i",
        str(inventory),
        str(PLAYBOOKS / playbook),
        *args,
    ]
    return subprocess.Popen(
        command, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=PLAYBOOKS
    )
