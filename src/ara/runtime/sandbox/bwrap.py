"""The bubblewrap backend: the system read-only, the session directory read-write at ``/root/.ara``, a private
``/tmp``, fresh namespaces (no network unless the session allows it), no capabilities, and nothing else of the
host: the server's base directory, other sessions and the rest of ``/`` do not exist inside."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from ara.runtime.sandbox.base import Completed, Limits
from ara.runtime.sandbox.process import run_process
from ara.runtime.workspace import SANDBOX_ROOT, SANDBOX_WORKSPACE, Workspace

SYSTEM_DIRS = ("/usr", "/opt")
# Top-level names that merged-/usr systems make symlinks (``/bin -> usr/bin``); real directories elsewhere.
USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# The part of /etc programs need (users, name resolution, certificates, the loader cache, alternatives); the rest
# of /etc (shadow files, private keys, the host's service configuration) stays out: the sandboxed process runs as
# the server's own user, so whatever that user may read must simply not be there. Each entry is one mount, and
# mounts are much of bwrap's start-up time, so the list is short.
ETC_ENTRIES = (
    "alternatives",
    "ca-certificates.conf",
    "group",
    "hosts",
    "ld.so.cache",
    "localtime",
    "nsswitch.conf",
    "passwd",
    "protocols",
    "resolv.conf",
    "services",
    "ssl/certs",
    "ssl/openssl.cnf",
)
# The private /tmp and /root are memory (tmpfs): capped so that a command cannot fill the server's RAM with them.
TMP_BYTES = 256 * 1024 * 1024
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment a sandboxed command sees: nothing of the server's (its secrets) unless given."""
    env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update(extra or {})
    return env


class BwrapSandbox:
    name = "bwrap"
    strong = True

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def argv(
        self, argv: Sequence[str], *, workspace: Workspace, cwd: str = str(SANDBOX_WORKSPACE), network: bool = False
    ) -> list[str]:
        return self._argv(argv, workspace=workspace, cwd=cwd, network=network, env=base_env())

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
        command = self._argv(argv, workspace=workspace, cwd=cwd, network=network, env=base_env(env))
        # bwrap itself starts from the session directory with an empty environment; the command's is in its argv.
        return run_process(command, limits=limits, cwd=str(workspace.root), env={}, stdin=stdin)

    def _argv(
        self, argv: Sequence[str], *, workspace: Workspace, cwd: str, network: bool, env: Mapping[str, str]
    ) -> list[str]:
        if not argv:
            raise ValueError("an empty command")
        # bwrap started by root keeps every capability inside unless told otherwise.
        args = [self.executable, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        if network:
            args.append("--share-net")
        for directory in SYSTEM_DIRS:
            if os.path.isdir(directory):
                args += ["--ro-bind", directory, directory]
        for name in USR_LINKS:
            if os.path.islink(name):
                args += ["--symlink", os.readlink(name), name]
            elif os.path.isdir(name):
                args += ["--ro-bind", name, name]
        for entry in ETC_ENTRIES:
            args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
        args += ["--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
        # HOME is a scratch tmpfs too (programs write ~/.cache, ~/.config), with the session mounted inside it.
        args += ["--size", str(TMP_BYTES), "--tmpfs", "/root"]
        args += ["--bind", str(Path(workspace.root).resolve()), str(SANDBOX_ROOT)]
        # Everything outside /root/.ara, /tmp, /proc and /dev is read-only, the new root included.
        args += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        return [*args, "--", *argv]
