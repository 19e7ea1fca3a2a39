"""The layering DESIGN.md promises: clients, plugins and the SDK never drag in the server or the ORM."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(import_line: str) -> set[str]:
    code = f"import sys; {import_line}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", ["ara.clients.http", "ara.clients.utils", "ara_sdk"])
def test_light_modules_do_not_import_the_server(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert not {"sqlalchemy", "fastapi", "ara.server", "ara.db"} & loaded


def test_sdk_never_imports_ara() -> None:
    assert not {m for m in _loaded_after("import ara_sdk") if m == "ara" or m.startswith("ara.")}


def test_domains_do_not_import_the_web_layer() -> None:
    loaded = _loaded_after("import ara.records.resources, ara.users.service")
    assert not {"fastapi", "starlette", "httpx", "ara.server", "ara.clients", "ara.cli"} & loaded
