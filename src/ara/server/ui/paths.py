"""Which paths are the web UI's: ``/``, everything under ``/ui`` and ARA's old page addresses. Their callers may be
identified by the login cookie (never on the API's paths: a cookie a browser sends must not authorise cross-site
API writes)."""

from __future__ import annotations

import re

UI_PREFIX = "/ui"
STATIC_PREFIX = "/ui/static/"
LOGIN_PATH = "/ui/login"


# ARA 1.8's page addresses, redirected to ours (``ara.server.routes.ui.legacy``).
ARA_PAGE = re.compile(r"/(playbooks|results|hosts|files)/[0-9]+\.html")


def is_ui_path(path: str) -> bool:
    return path == "/" or path == UI_PREFIX or path.startswith(UI_PREFIX + "/") or ARA_PAGE.fullmatch(path) is not None


def is_static_path(path: str) -> bool:
    return path.startswith(STATIC_PREFIX)
