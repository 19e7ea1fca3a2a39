"""Which workspace a run's agent works in, and its one-time setup.

``sandbox(policy=…)``: ``shared`` is one workspace per app (``sandbox(key=…)`` names another shared one),
``dedicated`` one per agent, ``ephemeral`` a fresh one per run (removed when the run ends), ``inherited`` the
workspace of the agent that handed off to it (a top-level agent: the shared one). They live under the runtime's
sessions directory, ``<sessions_dir>/apps/<app_id>/<key>/``, laid out like a session's, so several hosts sharing
that directory share them. ``runtime(files=…, startup=…)`` are applied once per workspace: a marker keeps the
hash of what was applied, so a redeploy that changes them applies them again."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ara.apps.agent.code import CodeRunner
from ara.errors import ToolFailed
from ara.runtime.workspace import Workspace
from ara.settings import Settings

POLICIES = ("shared", "dedicated", "ephemeral", "inherited")
MARKER = ".ara-app-setup"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Place:
    """A workspace chosen for an agent; ``ephemeral`` ones are removed by ``release``."""

    key: str
    workspace: Workspace
    ephemeral: bool = False


def policy_of(agent: dict[str, Any]) -> str:
    policy = str((agent.get("sandbox") or {}).get("policy") or "shared").strip().lower()
    return policy if policy in POLICIES else "shared"


def _safe(name: str) -> str:
    """A path component for an id the author chose; distinct ids stay distinct (a hash when characters change)."""
    cleaned = _UNSAFE.sub("_", name)[:64].strip(".") or "_"
    if cleaned != name:
        cleaned += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return cleaned


def apps_root(settings: Settings, app_id: str) -> Path:
    return settings.sessions_dir / "apps" / _safe(app_id)


def choose(settings: Settings, app_id: str, run_pk: str, agent: dict[str, Any], parent: Place | None) -> Place:
    """The workspace ``agent`` uses in run ``run_pk``; ``parent`` is the place of the agent that handed off."""
    policy = policy_of(agent)
    if policy == "inherited" and parent is not None:
        return parent
    root = apps_root(settings, app_id)
    if policy == "dedicated":
        key = "agent-" + _safe(str(agent["id"]))
    elif policy == "ephemeral":
        key = "run-" + _safe(run_pk) + "-" + _safe(str(agent["id"]))
    else:
        shared_key = str((agent.get("sandbox") or {}).get("key") or "").strip()
        key = "shared-" + _safe(shared_key) if shared_key else "shared"
    return Place(key, Workspace(root / key), ephemeral=policy == "ephemeral")


def release(place: Place) -> None:
    if place.ephemeral:
        shutil.rmtree(place.workspace.root, ignore_errors=True)
        _lock_path(place).unlink(missing_ok=True)


def _lock_path(place: Place) -> Path:
    return place.workspace.root.parent / f".{place.key}.lock"


def setup_hash(profile: dict[str, Any]) -> str:
    wanted = {"files": profile.get("files") or [], "startup": profile.get("startup") or None}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One preparer at a time per workspace (concurrent runs of a shared workspace, on any host sharing it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare(place: Place, profile: dict[str, Any], runner: CodeRunner) -> bool:
    """Creates the workspace and applies the profile's files and startup command unless already applied; whether
    it applied them. A failing startup raises ``ToolFailed`` (and is tried again by the next run)."""
    workspace = place.workspace
    with _locked(_lock_path(place)):
        workspace.create()
        marker = workspace.root / MARKER
        wanted = setup_hash(profile)
        if marker.is_file() and marker.read_text().strip() == wanted:
            return False
        for item in profile.get("files") or []:
            _write(workspace, item)
        startup = profile.get("startup")
        if isinstance(startup, dict) and str(startup.get("entrypoint") or "").strip():
            _start(runner, startup)
        marker.write_text(wanted + "\n")
        return True


def _write(workspace: Workspace, item: Any) -> None:
    if not isinstance(item, dict) or not str(item.get("path") or "").strip():
        raise ToolFailed("runtime(files=...): every file needs a path")
    target = workspace.resolve(str(item["path"]))  # confined to the workspace (ToolFailed naming the path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(str(item.get("content") or ""), encoding="utf-8")
    os.chmod(target, 0o755 if item.get("executable") else 0o644)


def _start(runner: CodeRunner, startup: dict[str, Any]) -> None:
    """The author's startup command line, run by the shell they named, inside the sandbox (``args`` are its
    positional parameters ``$1``…)."""
    shell = str(startup.get("shell") or "bash").strip() or "bash"
    args = [str(arg) for arg in startup.get("args") or []]
    argv = [shell, "-c", str(startup["entrypoint"]), "startup", *args]
    done = runner.sandbox.run(
        argv, workspace=runner.workspace, limits=runner.limits, env=dict(runner.env), network=runner.network
    )
    if done.timed_out:
        raise ToolFailed(f"the startup command timed out after {runner.limits.timeout_seconds:g} s")
    if done.exit_code != 0:
        tail = (done.stderr.strip() or done.stdout.strip())[-500:]
        raise ToolFailed(
            runner.clean(f"the startup command failed (exit code {done.exit_code})" + (f": {tail}" if tail else ""))
        )
