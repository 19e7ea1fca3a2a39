"""Cached virtualenvs for tests that run someone else's package (upstream ARA, the real ``ara-sdk``) or ours
installed the way a user installs it.

A virtualenv is created once per set of requirements under ``$ARA_TEST_CACHE`` (default ``~/.cache/ara-tests``),
in a folder named after a prefix, the requirements and the Python version, and reused while its probe still
passes; CI starts clean and builds it. The packages inside often share a name with ours (``ara``, ``ara_sdk``),
so a venv never sees our tree: no ``--system-site-packages``, binaries run by absolute path and
``PYTHONPATH``/``VIRTUAL_ENV`` scrubbed from the environment (``clean_environ``).
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
from pathlib import Path

# A marker written last: a folder without it is a half-built virtualenv (interrupted install) and is rebuilt.
MARKER = "ara-tests.json"


def cache_root() -> Path:
    return Path(os.environ.get("ARA_TEST_CACHE") or Path.home() / ".cache" / "ara-tests")


def clean_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) without what would make a child Python see our package or venv."""
    environ = dict(os.environ if base is None else base)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV", "PYTHONUSERBASE"):
        environ.pop(key, None)
    environ["PYTHONNOUSERSITE"] = "1"
    return environ


def venv_environ(path: Path, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """An environment for the binaries of the venv at ``path``: scrubbed, its ``bin`` first on PATH."""
    environ = clean_environ(base)
    environ["PATH"] = f"{path / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    environ.update(extra)
    return environ


def venv_dir(requirements: Sequence[str], prefix: str, slug: str | None = None) -> Path:
    """Cache folder keyed by the requirements and the Python version (a new pin never reuses an old venv);
    named after ``slug``, by default the first requirement."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    key = hashlib.sha1(json.dumps([list(requirements), version]).encode()).hexdigest()[:10]
    if slug is None:
        slug = "-".join(req.replace("==", "-").replace("[", "-").replace("]", "") for req in requirements[:1])
    return cache_root() / f"{prefix}-{slug}-py{sys.version_info[0]}{sys.version_info[1]}-{key}"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock next to ``path``, so parallel test processes build a venv once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def probe_venv(path: Path, requirements: Sequence[str], probe: Sequence[str]) -> str | None:
    """What ``python <probe>`` prints in the venv at ``path`` if it was fully built for ``requirements`` and the
    probe passes, else None."""
    marker = path / MARKER
    python = path / "bin" / "python"
    if not marker.is_file() or not python.exists():
        return None
    try:
        if json.loads(marker.read_text())["requirements"] != list(requirements):
            return None
        done = subprocess.run(
            [str(python), *probe], env=clean_environ(), capture_output=True, text=True, timeout=60, cwd=path
        )
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()


def build_venv(path: Path, requirements: Sequence[str], probe: Sequence[str], *, quiet: bool = True) -> str:
    """The probe's output in the cached venv at ``path``, built now (``python -m venv`` + pip) if missing or broken.

    Raises ``RuntimeError`` with pip's output when the install fails (no PyPI, say): the tests that need the
    venv then error instead of silently skipping.
    """
    with locked(path):
        found = probe_venv(path, requirements, probe)
        if found is not None:
            return found
        shutil.rmtree(path, ignore_errors=True)
        environ = clean_environ()
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
        steps = [[sys.executable, "-m", "venv", str(path)], [*pip, *(["--quiet"] if quiet else []), *requirements]]
        for step in steps:
            done = subprocess.run(step, env=environ, capture_output=quiet, text=True, cwd=path.parent)
            if done.returncode != 0:
                output = (done.stdout or "") + (done.stderr or "") if quiet else ""
                raise RuntimeError(f"{' '.join(step)} failed ({done.returncode}):\n{output[-4000:]}")
        (path / MARKER).write_text(json.dumps({"requirements": list(requirements)}))
        found = probe_venv(path, requirements, probe)
        if found is None:
            raise RuntimeError(f"the virtualenv at {path} was built but its probe fails: {' '.join(probe)}")
        return found
