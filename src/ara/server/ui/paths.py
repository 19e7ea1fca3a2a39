"""Which paths are the web UI's: ``/`` and everything under ``/ui``. Their callers may be identified by the
login cookie (never the API's paths: a cookie sent by a browser must not authorise cross-site API writes)."""

from __future__ import annotations

UI_PREFIX = "/ui"
STATIC_PREFIX = "/ui/static/"
LOGIN_PATH = "/ui/login"


def is_ui_path(path: str) -> bool:
    return path == "/" or path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def is_static_path(path: str) -> bool:
    return path.startswith(STATIC_PREFIX)
