"""Virtualenvs holding upstream ARA Records Ansible (from PyPI), for the compatibility tests and the benchmark.

A virtualenv is created once per set of requirements under ``$ARA_TEST_CACHE`` (default
``~/.cache/ara-tests``), in a folder named after the requirements and the Python version, and reused while it
still works; CI starts clean and builds it (about 15-60 s). Our own package is also importable as ``ara``,
so the virtualenv never sees it: no ``--system-site-packages``, binaries run by absolute path and
``PYTHONPATH``/``VIRTUAL_ENV`` scrubbed from the environment (``UpstreamVenv.environ``).

``ara==1.8.0`` without extras is the client, the Ansible plugins and the ``ara`` CLI (cliff + requests, no
Django): that is what the compatibility tests install. The benchmark also installs ``ara[server]`` to run
upstream's own server as the reference.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ARA_VERSION = "1.8.0"
CLIENT_REQUIREMENTS = (f"ara=={ARA_VERSION}", "ansible-core<2.20")
SERVER_REQUIREMENTS = (f"ara[server]=={ARA_VERSION}", "ansible-core<2.20")
# A marker written last: a folder without it is a half-built virtualenv (interrupted install) and is rebuilt.
MARKER = "ara-tests.json"
# Startup checks run inside the virtualenv: upstream's ara (not ours) and a usable ansible-core.
PROBE = (
    "import ara, ansible.release, sys; from ara.setup import ara_version; "
    "assert ara_version == sys.argv[1], ara_version; "
    "import ara.setup; assert '/site-packages/' in ara.setup.__file__, ara.setup.__file__; "
    "print(ansible.release.__version__)"
)


def cache_root() -> Path:
    return Path(os.environ.get("ARA_TEST_CACHE") or Path.home() / ".cache" / "ara-tests")


def clean_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without what would make a child Python see our package or venv."""
    environ = dict(os.environ if base is None else base)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        environ.pop(key, None)
    environ["PYTHONNOUSERSITE"] = "1"
    return environ


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
        environ = clean_environ(base)
        environ["PATH"] = f"{self.path / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
        environ.update(extra)
        return environ


def venv_dir(requirements: Sequence[str]) -> Path:
    """Cache folder keyed by the requirements and the Python version (a new pin never reuses an old venv)."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    key = hashlib.sha1(json.dumps([list(requirements), version]).encode()).hexdigest()[:10]
    slug = "-".join(req.replace("==", "-").replace("[", "-").replace("]", "") for req in requirements[:1])
    return cache_root() / f"upstream-{slug}-py{sys.version_info[0]}{sys.version_info[1]}-{key}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock next to ``path``, so parallel test processes build a venv once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _probe(path: Path, requirements: Sequence[str]) -> UpstreamVenv | None:
    """The venv at ``path`` if it was fully built for ``requirements`` and still runs, else None."""
    marker = path / MARKER
    python = path / "bin" / "python"
    if not marker.is_file() or not python.exists():
        return None
    try:
        if json.loads(marker.read_text())["requirements"] != list(requirements):
            return None
        done = subprocess.run(
            [str(python), "-c", PROBE, ARA_VERSION],
            env=clean_environ(),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=path,
        )
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return UpstreamVenv(path, tuple(requirements), done.stdout.strip())


def ensure_venv(requirements: Sequence[str] = CLIENT_REQUIREMENTS, *, quiet: bool = True) -> UpstreamVenv:
    """The cached virtualenv for ``requirements``, built now (``python -m venv`` + pip) if missing or broken.

    Raises ``RuntimeError`` with pip's output when the install fails (no PyPI, say): the tests that need
    upstream then error instead of silently skipping.
    """
    path = venv_dir(requirements)
    with _locked(path):
        found = _probe(path, requirements)
        if found is not None:
            return found
        shutil.rmtree(path, ignore_errors=True)
        environ = clean_environ()
        steps = [
            [sys.executable, "-m", "venv", str(path)],
            [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        ]
        if quiet:
            steps[1].insert(4, "--quiet")
        for step in steps:
            done = subprocess.run(step, env=environ, capture_output=quiet, text=True, cwd=path.parent)
            if done.returncode != 0:
                output = (done.stdout or "") + (done.stderr or "") if quiet else ""
                raise RuntimeError(f"{' '.join(step)} failed ({done.returncode}):\n{output[-4000:]}")
        (path / MARKER).write_text(json.dumps({"requirements": list(requirements)}))
        found = _probe(path, requirements)
        if found is None:
            raise RuntimeError(f"the virtualenv at {path} was built but upstream ara {ARA_VERSION} does not import")
        return found
