"""Reading an app file for a command (``ara deploy app.py``): the author's Python runs here, on the author's machine,
with our ``ara_sdk`` (``ara_sdk.loader``: module ``ara_user_app``, the first ``App``, as 0.1.46); the server only
ever receives the manifest.

What the CLI adds: the file's folder is first on ``sys.path`` while it loads (an app split over several modules
imports its siblings), and any failure of the author's code, not only a bad declaration, is one line naming the
file and line (``AppFileError``), never a traceback.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from ara_sdk import loader
from ara_sdk.validation import DeclarationError


class AppFileError(Exception):
    """The app file is missing, fails to run, or declares no ``App``."""


def looks_like_app_file(argument: str) -> bool:
    """What ``ara run`` takes for an app file rather than a subcommand: a ``.py`` name or an existing path."""
    return argument.endswith(".py") or Path(argument).expanduser().exists()


def _where(exc: BaseException, path: Path) -> str:
    """``app.py:12`` for the deepest frame inside the app file, else the file alone."""
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename) == path]
    if isinstance(exc, SyntaxError) and exc.lineno and Path(exc.filename or "") == path:
        lines.append(exc.lineno)
    return f"{path.name}:{lines[-1]}" if lines else path.name


def load_manifest(script: Path) -> dict[str, Any]:
    """The manifest of the file's app (built here too: some declarations are checked only then)."""
    path = script.expanduser().resolve()
    sys.path.insert(0, str(path.parent))
    try:
        return loader.load_app(path).manifest
    except loader.AppFileError as exc:  # no file, no App: the loader's own words
        raise AppFileError(_first_line(exc)) from None
    except (Exception, SystemExit) as exc:
        name = type(exc).__name__ if not isinstance(exc, DeclarationError) else "invalid app"
        raise AppFileError(f"{_where(exc, path)}: {name}: {_first_line(exc)}") from None
    finally:
        if sys.path and sys.path[0] == str(path.parent):
            del sys.path[0]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
