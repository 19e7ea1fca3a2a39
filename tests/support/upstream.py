"""Virtualenvs holding upstream ARA Records Ansible (from PyPI), for the compatibility tests and the benchmark.

Built and cached by ``tests/support/venvs.py`` (see there: keyed by the requirements, never sees our package).

``ara==1.8.0`` without extras is the client, the Ansible plugins and the ``ara`` CLI (cliff + requests, no
Django): that is what the compatibility tests install. The benchmark also installs ``ara[server]`` to run
upstream's own server as the reference.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.venvs import MARKER, build_venv, cache_root, clean_environ, probe_venv, venv_environ
from tests.support.venvs import venv_dir as _venv_dir

__all__ = ["MARKER", "UpstreamVenv", "cache_root", "clean_environ", "ensure_venv", "venv_dir"]

ARA_VERSION = "1.8.0"
CLIENT_REQUIREMENTS = (f"ara=={ARA_VERSION}", "ansible-core<2.20")
SERVER_REQUIREMENTS = (f"ara[server]=={ARA_VERSION}", "ansible-core<2.20")
# Startup checks run inside the virtualenv: upstream's ara (not ours) and a usable ansible-core.
PROBE = (
    "import ara, ansible.release, sys; from ara.setup import ara_version; "
    "assert ara_version == sys.argv[1], ara_version; "
    "import ara.setup; assert '/site-packages/' in ara.setup.__file__, ara.setup.__file__; "
    "print(ansible.release.__version__)"
)


@dataclass(frozen=True)
class UpstreamVenv:
    """A working virtualenv with upstream ``ara``; paths to its binaries and plugins."""

    path: Path
    requirements: tuple[str, ...]
    ansible_version: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name

    def setup_path(self, module: str) -> str:
        """What ``python -m ara.setup.<module>`` prints with the venv's Python (upstream's plugin folders)."""
        done = subprocess.run(
            [str(self.python), "-m", f"ara.setup.{module}"],
            env=self.environ(),
            capture_output=True,
            text=True,
            check=True,
            cwd=self.path,
        )
        return done.stdout.strip()

    def environ(self, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
        """An environment for the venv's binaries: scrubbed (see ``clean_environ``), venv ``bin`` first on PATH."""
        return venv_environ(self.path, base, **extra)


def venv_dir(requirements: Sequence[str]) -> Path:
    return _venv_dir(requirements, "upstream")


def _probe(path: Path, requirements: Sequence[str]) -> UpstreamVenv | None:
    """The venv at ``path`` if it was fully built for ``requirements`` and still runs, else None."""
    found = probe_venv(path, requirements, ["-c", PROBE, ARA_VERSION])
    return None if found is None else UpstreamVenv(path, tuple(requirements), found)


def ensure_venv(requirements: Sequence[str] = CLIENT_REQUIREMENTS, *, quiet: bool = True) -> UpstreamVenv:
    """The cached virtualenv for ``requirements`` (built now if missing or broken; ``RuntimeError`` with pip's
    output when that fails, so the tests that need upstream error instead of silently skipping)."""
    path = venv_dir(requirements)
    found = build_venv(path, requirements, ["-c", PROBE, ARA_VERSION], quiet=quiet)
    return UpstreamVenv(path, tuple(requirements), found)
