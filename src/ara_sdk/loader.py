"""Loading an app file (``ara deploy app.py``): run it as a module and take its ``App``, as 0.1.46's CLI does
(the first ``App`` among the module's globals, module name ``ara_user_app``). Failures are ``AppFileError``
with a one-line message, for a CLI to print and exit 2; a bad declaration inside the file surfaces as its
``DeclarationError`` (the project-name one with 0.1.46's hint)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ara_sdk.app import App
from ara_sdk.errors import AppFileError, DeclarationError

MODULE_NAME = "ara_user_app"
PROJECT_NAME_HINT = (
    "Invalid App project_name: use lowercase letters, digits and hyphens only "
    "([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?), for example my-app-1"
)


def load_app(path: str | Path) -> App:
    script = Path(path).expanduser().resolve()
    if not script.is_file():
        raise AppFileError(f"Script not found: {script}")
    spec = importlib.util.spec_from_file_location(MODULE_NAME, script)
    if spec is None or spec.loader is None:
        raise AppFileError(f"Could not load module from {script}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except DeclarationError as exc:
        if str(exc).startswith("project_name must match"):
            raise DeclarationError(PROJECT_NAME_HINT) from None
        raise
    app = next((value for value in vars(module).values() if isinstance(value, App)), None)
    if app is None:
        raise AppFileError(f"No App(...) instance found in {script}")
    return app
