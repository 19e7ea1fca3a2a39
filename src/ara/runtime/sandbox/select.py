"""Which sandbox runs a session's commands: bubblewrap when it works here, else the confined subprocess (announced
as weaker). ``settings.sandbox`` may force either; forcing ``bwrap`` where it cannot run stops the server."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from ara.errors import ConfigError
from ara.runtime.sandbox.base import Sandbox
from ara.runtime.sandbox.bwrap import BwrapSandbox
from ara.runtime.sandbox.confined import ConfinedSandbox
from ara.runtime.workspace import Workspace
from ara.settings import RuntimeSettings


@functools.cache
def bwrap_problem(executable: str | None) -> str | None:
    """Why bubblewrap cannot be used (``None`` when ``bwrap … true`` succeeds); probed once per process and path,
    with the very mounts and namespaces a session gets (a container without user namespaces fails here)."""
    if executable is None:
        return "bwrap is not installed (Debian: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="ara-bwrap-probe-") as root:
        argv = BwrapSandbox(executable).argv(["true"], workspace=Workspace(Path(root)), cwd="/root/.ara")
        try:
            done = subprocess.run(argv, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{executable} did not run: {exc}"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip() or f"exit code {done.returncode}"
        return f"{executable} does not work here: {reason}"
    return None


def choose_sandbox(settings: RuntimeSettings) -> Sandbox:
    executable = shutil.which("bwrap")
    if settings.sandbox == "subprocess":
        return ConfinedSandbox()
    problem = bwrap_problem(executable)
    if problem is None and executable is not None:
        return BwrapSandbox(executable)
    if settings.sandbox == "bwrap":
        raise ConfigError(f"ARA_RUNTIME__SANDBOX=bwrap but {problem}")
    return ConfinedSandbox()


def sandbox_warning(settings: RuntimeSettings) -> str | None:
    """The line the server prints at start when sessions get the weaker sandbox (``ConfigError`` when the forced
    one cannot run)."""
    sandbox = choose_sandbox(settings)
    if sandbox.strong:
        return None
    why = (
        "ARA_RUNTIME__SANDBOX=subprocess" if settings.sandbox == "subprocess" else bwrap_problem(shutil.which("bwrap"))
    )
    return (
        f"Agent runtime: {why}; session commands run in a confined subprocess, which limits time, CPU, memory "
        "and output but cannot hide the server's files or the network (install bubblewrap for real isolation)."
    )
