"""Reading an app file (``ara deploy app.py``): the author's Python runs here, on the author's machine, with our
``ara_sdk``, as ara-sdk's CLI runs it; the server only ever receives the manifest.

The module is loaded under the name ``ara_user_app`` (its ``if __name__ == "__main__"`` block does not run) and the
first module-level ``App`` instance is the app, as in 0.1.46. The file's folder is put first on ``sys.path`` while
it loads, so an app split over several modules imports its siblings. Any failure of the author's code is one
line naming the file and line (``AppFileError``), never a traceback.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from ara_sdk import App

MODULE_NAME = "ara_user_app"


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


def _run_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(MODULE_NAME, str(path))
    if spec is None or spec.loader is None:
        raise AppFileError(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        text = (str(exc).strip().splitlines() or [""])[0]
        raise AppFileError(f"{_where(exc, path)}: {type(exc).__name__}: {text}".rstrip(": ")) from None
    finally:
        if sys.path and sys.path[0] == str(path.parent):
            del sys.path[0]
    return module


def load_app(script: Path) -> App:
    """The ``App`` the file declares."""
    path = script.expanduser().resolve()
    if not path.is_file():
        raise AppFileError(f"Script not found: {path}")
    module = _run_module(path)
    for value in vars(module).values():
        if isinstance(value, App):
            return value
    raise AppFileError(f"No App(...) instance found in {path.name}")


def load_manifest(script: Path) -> dict[str, Any]:
    """The manifest of the file's app (``App.manifest``: a property in ara-sdk, a method tolerated)."""
    app = load_app(script)
    try:
        manifest = app.manifest
        if callable(manifest):
            manifest = manifest()
    except Exception as exc:  # a declaration only checked when the manifest is built
        text = (str(exc).strip().splitlines() or [""])[0]
        raise AppFileError(f"{script.name}: {type(exc).__name__}: {text}") from None
    if not isinstance(manifest, dict):
        raise AppFileError(f"{script.name}: the App's manifest is not a dict")
    return manifest
