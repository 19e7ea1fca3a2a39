"""Our package installed the way an app author installs it: ``pip install ara-platform`` without extras.

The virtualenv with the base dependencies (read from ``pyproject.toml``, so a new dependency builds a new venv)
is cached like the SDK's (``tests/support/venvs.py``); our package itself is reinstalled from a copy of this
tree every time (``--no-deps``: only the dependencies pip resolved from ``pyproject.toml`` are there), so the
test sees the code under test, not the code of the day the cache was built.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tests.support.venvs import build_venv, locked, venv_dir, venv_environ

ROOT = Path(__file__).resolve().parents[2]
# The build backend, installed beside the dependencies: the reinstall runs without build isolation (no index).
BUILD = ("setuptools>=68", "wheel")
PROBE = ("-c", "import httpx, typer, pydantic_settings; print('ok')")


def base_requirements() -> tuple[str, ...]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return (*project["dependencies"], *BUILD)


@dataclass(frozen=True)
class BaseInstall:
    path: Path

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def environ(self, **extra: str) -> dict[str, str]:
        return venv_environ(self.path, **extra)


def _copy_tree(into: Path) -> Path:
    """What ``pip install .`` reads: pyproject, README and ``src`` (no caches, no egg-info in our worktree)."""
    into.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, into / name)
    shutil.copytree(ROOT / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return into


def install_base(scratch: Path) -> BaseInstall:
    """The cached base venv with this tree's package (re)installed into it."""
    requirements = base_requirements()
    path = venv_dir(requirements, "base", "ara-platform")
    build_venv(path, requirements, PROBE)
    source = _copy_tree(scratch / "source")
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    step = [*pip, "--no-deps", "--no-build-isolation", "--no-index", "--force-reinstall", str(source)]
    with locked(path):
        done = subprocess.run(step, env=venv_environ(path), capture_output=True, text=True, cwd=scratch)
    if done.returncode != 0:
        raise RuntimeError(f"installing our package failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return BaseInstall(path)
