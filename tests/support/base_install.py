"""Our package installed the way an app author installs it: ``pip install ara-platform`` without extras.

The virtualenv with the base dependencies (read from ``pyproject.toml``, so a new dependency builds a new venv)
is cached like the SDK's (``tests/support/venvs.py``) and never changed after it is built; our package itself
is installed from a copy of this tree every time, into the test's own ``--prefix`` (``--no-deps``: only the
dependencies pip resolved from ``pyproject.toml`` are there), so the test sees the code under test, and two
test runs on one machine never install over each other.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tests.support.venvs import build_venv, venv_dir, venv_environ

ROOT = Path(__file__).resolve().parents[2]
# The build backend, installed beside the dependencies: the reinstall runs without build isolation (no index).
BUILD = ("setuptools>=68", "wheel")
# The dependencies import, and our package is not in the venv (it is installed per test, under a prefix).
PROBE = ("-c", "import httpx, typer, pydantic_settings, importlib.util as u; assert u.find_spec('ara') is None")


def base_requirements() -> tuple[str, ...]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return (*project["dependencies"], *BUILD)


@dataclass(frozen=True)
class BaseInstall:
    venv: Path  # the cached base dependencies
    prefix: Path  # our package and its ``ara`` script, for this test only

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.prefix / "bin" / name

    def environ(self, **extra: str) -> dict[str, str]:
        (site,) = self.prefix.glob("lib/python*/site-packages")
        environ = venv_environ(self.venv, PYTHONPATH=str(site), **extra)
        environ["PATH"] = f"{self.prefix / 'bin'}:{environ['PATH']}"
        return environ


def _copy_tree(into: Path) -> Path:
    """What ``pip install .`` reads: pyproject, README and ``src`` (no caches, no egg-info in our worktree)."""
    into.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, into / name)
    shutil.copytree(ROOT / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return into


def install_base(scratch: Path) -> BaseInstall:
    """This tree's package installed under ``scratch`` on top of the cached base venv."""
    requirements = base_requirements()
    venv = venv_dir(requirements, "base", "ara-platform")
    build_venv(venv, requirements, PROBE)
    source = _copy_tree(scratch / "source")
    prefix = scratch / "prefix"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    step = [*pip, "--no-deps", "--no-build-isolation", "--no-index", "--prefix", str(prefix), str(source)]
    done = subprocess.run(step, env=venv_environ(venv), capture_output=True, text=True, cwd=scratch)
    if done.returncode != 0:
        raise RuntimeError(f"installing our package failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return BaseInstall(venv, prefix)
