"""Fixtures of the web UI's tests: a real server with users of each role, and Chromium (one per xdist worker)
with a fresh browser context (cookies) per test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from ara.db.session import unit_of_work
from ara.server.app import create_app
from ara.settings import Settings
from ara.users.service import create_user
from tests.conftest import make_settings
from tests.support.browser import chromium, chromium_path
from tests.support.server import running_server

USERS = {"admin": "admin", "alice": "operator", "bob": "approver", "carol": "viewer"}
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Site:
    """A running server: its URL, its settings and the password of every user in ``USERS``."""

    url: str
    settings: Settings
    password: str = PASSWORD


def add_users(settings: Settings) -> None:
    app = create_app(settings, workers=False)  # migrates the database
    with unit_of_work(app.state.ara.writer) as session:
        for username, role in USERS.items():
            create_user(session, username=username, password=PASSWORD, role=role)
    app.state.ara.engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server per test module on SQLite (the embedded default)."""
    base: Path = tmp_path_factory.mktemp("site")
    settings = make_settings(base)
    add_users(settings)
    with running_server(settings) as url:
        yield Site(url, settings)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if chromium_path() is None and not os.environ.get("ARA_REQUIRE_BROWSER"):
        pytest.skip("Chromium is not installed (scripts/system-packages.sh installs it)")
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (its ``csrf-token`` meta tag), which every form must send back."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, html
    return match.group(1)


def form_login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log an httpx client (``base_url`` = the site) in through the login form, as a browser would; returns the
    CSRF token its later forms send."""
    token = csrf_of(client.get("/ui/login").text)
    answer = client.post("/ui/login", data={"username": username, "password": password, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return token
