"""The fallback when bubblewrap is missing or unusable: a plain subprocess started in the session's workspace with
a scrubbed environment, the same rlimits, its own process group, the timeout and the output cap.

It cannot hide the file system or the network (``strong = False``): a command may read whatever the server's user
can read and write there, and ``/root/.ara`` in a command line is not the session (the session directory is its
``HOME`` and its working directory is the workspace, so relative paths work the same in both backends). The
file tools stay confined either way, since they resolve every path themselves; the server announces this backend
at start as weaker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ara.runtime.sandbox.base import Completed, Limits
from ara.runtime.sandbox.bwrap import PATH
from ara.runtime.sandbox.process import run_process
from ara.runtime.workspace import SANDBOX_WORKSPACE, Workspace


class ConfinedSandbox:
    name = "subprocess"
    strong = False

    def env(self, workspace: Workspace, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Nothing of the server's environment (its secrets) reaches the command unless given."""
        env = {"PATH": PATH, "HOME": str(workspace.root.resolve()), "LANG": "C.UTF-8", "TERM": "dumb"}
        env.update(extra or {})
        return env

    def argv(
        self, argv: Sequence[str], *, workspace: Workspace, cwd: str = str(SANDBOX_WORKSPACE), network: bool = False
    ) -> list[str]:
        if not argv:
            raise ValueError("an empty command")
        assignments = [f"{key}={value}" for key, value in self.env(workspace).items()]
        return ["env", "-i", "-C", str(workspace.resolve(cwd)), *assignments, *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        workspace: Workspace,
        limits: Limits,
        cwd: str = str(SANDBOX_WORKSPACE),
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        network: bool = False,
    ) -> Completed:
        if not argv:
            raise ValueError("an empty command")
        host_cwd = str(workspace.resolve(cwd))
        return run_process(argv, limits=limits, cwd=host_cwd, env=self.env(workspace, env), stdin=stdin)
