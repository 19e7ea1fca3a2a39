"""The real ``ara-sdk`` from PyPI (0.1.46 and 0.1.58), each in a cached virtualenv, for the compatibility tests.

Both versions are the ``ara_sdk`` package and the ``ara`` CLI, exactly our names: the venv never sees our tree
(``tests/support/venvs.py``), the CLI runs by absolute path and the environment is scrubbed. ``websockets`` is
installed beside it because 0.1.46's ``ara ssh-proxy`` imports it without depending on it (with
``additional_headers``, the client of websockets 14 and later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.venvs import build_venv, venv_dir, venv_environ

SDK_VERSIONS = ("0.1.46", "0.1.58")
# The venv's ara_sdk is the installed one at the pinned version, never a copy of ours on some path.
PROBE = (
    "import sys, importlib.metadata as m, ara_sdk, websockets; "
    "assert m.version('ara-sdk') == sys.argv[1], m.version('ara-sdk'); "
    "assert '/site-packages/' in ara_sdk.__file__, ara_sdk.__file__; "
    "print(m.version('ara-sdk'))"
)


def requirements(version: str) -> tuple[str, ...]:
    return (f"ara-sdk=={version}", "websockets>=14")


@dataclass(frozen=True)
class SdkVenv:
    """A working virtualenv with the real ``ara-sdk`` at ``version``."""

    path: Path
    version: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def ara(self) -> Path:
        """The SDK's ``ara`` command (not ours)."""
        return self.path / "bin" / "ara"

    def environ(self, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
        return venv_environ(self.path, base, **extra)


def ensure_sdk_venv(version: str, *, quiet: bool = True) -> SdkVenv:
    """The cached virtualenv holding ``ara-sdk==version`` (built now if missing or broken; ``RuntimeError`` with
    pip's output when that fails)."""
    reqs = requirements(version)
    path = venv_dir(reqs, "sdk")
    build_venv(path, reqs, ["-c", PROBE, version], quiet=quiet)
    return SdkVenv(path, version)
