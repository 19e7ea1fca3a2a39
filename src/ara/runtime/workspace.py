"""A session's directory on the server, which the sandbox sees as ``/root/.ara``, and the one path resolver every
file tool uses: relative paths live in ``workspace/``; ``..`` chains, absolute paths outside ``/root/.ara`` and
symlinks that lead out are refused with a ``ToolFailed`` naming the path."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ara.errors import ToolFailed

SANDBOX_ROOT = PurePosixPath("/root/.ara")
SANDBOX_WORKSPACE = SANDBOX_ROOT / "workspace"
MEMORY_FILES = ("MEMORY.md", "USER.md")
SKILL_DIRS = ("skills", "self-skills")


@dataclass(frozen=True)
class Workspace:
    """``root`` is the host directory mounted at ``/root/.ara``."""

    root: Path

    @property
    def workspace_dir(self) -> Path:
        return self.root / "workspace"

    @property
    def memory_dir(self) -> Path:
        return self.root / "memory"

    def create(self) -> None:
        """The layout a new session starts with; existing files are kept (a restarted session resumes)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for skills in SKILL_DIRS:
            (self.workspace_dir / skills).mkdir(parents=True, exist_ok=True)
        self.memory_dir.mkdir(exist_ok=True)
        for name in MEMORY_FILES:
            (self.memory_dir / name).touch(exist_ok=True)

    def resolve(self, path: str) -> Path:
        """The host path for a tool's ``path`` argument, confined to the session."""
        if not isinstance(path, str) or "\x00" in path:
            raise ToolFailed(f"invalid path {path!r}")
        given = PurePosixPath(path.strip() or ".")
        if given.is_absolute():
            try:
                inside = given.relative_to(SANDBOX_ROOT)
            except ValueError:
                raise ToolFailed(f"path {path} is outside the session ({SANDBOX_ROOT})") from None
            host = self.root / inside
        else:
            host = self.workspace_dir / given
        root = self.root.resolve()
        # ``realpath`` follows every symlink that exists, so a link anywhere on the way that leads out is seen.
        real = Path(os.path.realpath(host))
        if real != root and root not in real.parents:
            raise ToolFailed(f"path {path} leads outside the session ({SANDBOX_ROOT})")
        return real

    def sandbox_path(self, host: Path) -> str:
        """How the sandbox (and the model) names a host path inside the session."""
        relative = Path(os.path.realpath(host)).relative_to(self.root.resolve())
        return str(SANDBOX_ROOT / relative.as_posix()) if str(relative) != "." else str(SANDBOX_ROOT)
