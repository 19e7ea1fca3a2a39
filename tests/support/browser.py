"""Debian's Chromium driven by Playwright (from PyPI; no browser download): launched headless with the flags this
closed network needs, a login helper for the UI's form, and screenshots saved under ``tests/.artifacts/``
(git-ignored; CI keeps them as artifacts)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts from this closed network.
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str | None:
    """``ARA_TEST_CHROMIUM``, else Debian's ``chromium`` on PATH."""
    return os.environ.get("ARA_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        raise RuntimeError(
            "no Chromium: install Debian's chromium (scripts/system-packages.sh) or set ARA_TEST_CHROMIUM"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=list(FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Fill in the UI's login form and wait until the start page shows who is logged in."""
    page.goto(f"{base_url}/ui/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=username).wait_for()


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG at ``tests/.artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path
