"""The web UI's templates (Jinja2) and static files (our CSS and JS, vendored htmx and its SSE extension with
their licences): package data, served by ``ara.server.routes.ui``. No CDN: the server may have no internet."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
