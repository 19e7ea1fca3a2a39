"""``run_auth_cli`` and ``run_runtime_cli``: 0.1.46's entry points for ``ara auth ...`` and ``ara runtime ...``,
here handing the arguments to our own CLI's groups (so a script calling them gets the same commands as the
``ara`` binary). Our CLI is imported only when called: importing ``ara_sdk`` never loads ``ara``."""

from __future__ import annotations

import sys


def run_auth_cli(argv: list[str] | None = None) -> None:
    """``ara auth <argv>`` (login, whoami, rotate, logout); ``argv`` defaults to ``sys.argv[1:]``."""
    _run_ara("auth", argv)


def run_runtime_cli(argv: list[str] | None = None) -> None:
    """``ara runtime <argv>`` (session, capabilities, skills, tools, control, files)."""
    _run_ara("runtime", argv)


def _run_ara(group: str, argv: list[str] | None) -> None:
    from ara.cli.main import main  # deferred: importing the SDK must not load ara

    args = list(sys.argv[1:] if argv is None else argv)
    saved = sys.argv
    sys.argv = ["ara", group, *args]
    try:
        main()
    except SystemExit as exc:  # the CLI always exits; a script calling us only stops on a failure
        if exc.code not in (0, None):
            raise
    finally:
        sys.argv = saved
