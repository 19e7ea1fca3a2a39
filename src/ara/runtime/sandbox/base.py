"""The one interface both sandbox backends implement. Commands are argv lists, never strings for a shell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ara.runtime.workspace import SANDBOX_WORKSPACE, Workspace
from ara.settings import RuntimeSettings


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float
    cpu_seconds: int
    memory_mb: int
    output_bytes: int

    @classmethod
    def from_settings(cls, settings: RuntimeSettings) -> Limits:
        return cls(settings.exec_timeout_seconds, settings.cpu_seconds, settings.memory_mb, settings.output_bytes)


@dataclass(frozen=True)
class Completed:
    """What a sandboxed command did. ``exit_code`` is ``None`` when it was killed for its timeout; each stream
    keeps at most ``Limits.output_bytes`` (``truncated`` says when more was cut)."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    truncated: bool
    duration_seconds: float


class Sandbox(Protocol):
    name: str  # "bwrap" or "subprocess"
    strong: bool  # False for the confined-subprocess fallback

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
        """Run ``argv`` to its end (or its limits) with the session mounted at ``/root/.ara``."""
        ...

    def argv(
        self, argv: Sequence[str], *, workspace: Workspace, cwd: str = str(SANDBOX_WORKSPACE), network: bool = False
    ) -> list[str]:
        """The host command line that runs ``argv`` in the sandbox, for callers that drive the process themselves
        (an SSH shell). The limits and the process group are the caller's to set (``preexec`` below)."""
        ...
