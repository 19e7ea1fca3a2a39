"""The playbook-run pages in Chromium: alice (operator) runs a playbook that needs approval from its form (once
with a bad value first), bob (approver) approves it in his own browser, alice watches it complete without
reloading and downloads its artifact; carol (viewer) sees no buttons; a rejection's comment reaches the page live."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import log_in, screenshot
from tests.web.conftest import Site
from tests.web.runs_support import DEPLOY, define

LIVE = 60_000  # ms: a run on a loaded machine may take a while to be picked up


@pytest.fixture(scope="module")
def deploy_id(site: Site) -> str:
    return define(site, "deploy-web", DEPLOY)


def _second_user(browser: Browser, site: Site, username: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    other = context.new_page()
    log_in(other, site.url, username, site.password)
    return other


def _start_from_form(page: Page, site: Site, replicas: str) -> str:
    page.goto(f"{site.url}/ui/runs")
    page.get_by_role("link", name="Deploy web").first.click()
    page.get_by_label("Replicas").fill(replicas)
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"/ui/runs/[0-9a-f-]{36}$"))
    return page.url


def test_run_approve_watch_live_and_download(browser: Browser, page: Page, site: Site, deploy_id: str) -> None:
    log_in(page, site.url, "alice", site.password)
    page.goto(f"{site.url}/ui/runs")
    expect(page.get_by_role("heading", name="Playbook runs")).to_be_visible()
    screenshot(page, "runs-index")
    page.get_by_role("link", name="Deploy web").first.click()
    expect(page.get_by_label("Maintenance window")).to_have_value("5m")  # the rendered default
    expect(page.get_by_label("Environment")).to_have_value("staging")
    screenshot(page, "runs-form")

    page.get_by_label("Replicas").fill("3")
    page.get_by_label("Maintenance window").fill("soon")
    page.get_by_label("Environment").select_option("prod")
    page.get_by_role("button", name="Run").click()
    error = page.locator("#f-params-window-error")
    expect(error).to_contain_text("invalid duration 'soon'")
    expect(page.get_by_label("Maintenance window")).to_have_attribute("aria-describedby", "f-params-window-error")
    expect(page.get_by_label("Replicas")).to_have_value("3")  # what was typed stays
    screenshot(page, "runs-form-invalid")

    page.get_by_label("Maintenance window").fill("10m")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(re.compile(r"/ui/runs/[0-9a-f-]{36}$"))
    run_url = page.url
    status = page.locator("[data-run-status]")
    expect(status).to_have_attribute("data-run-status", "pending_approval")
    expect(page.locator(".run-params")).to_contain_text("10m")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # alice is no approver
    screenshot(page, "runs-run-pending")

    bob = _second_user(browser, site, "bob")
    try:
        bob.goto(run_url)
        screenshot(bob, "runs-run-approver")
        bob.get_by_label("Comment").fill("go ahead")
        bob.get_by_role("button", name="Approve").click()
        expect(bob.locator(".approvals")).to_contain_text("bob")
    finally:
        bob.context.close()

    # alice's page was never reloaded: the stream brings the approval, the output and the artifacts.
    expect(status).to_have_attribute("data-run-status", "completed", timeout=LIVE)
    expect(page.locator("pre.stdout")).to_contain_text("deploying 3 replicas to prod", timeout=LIVE)
    expect(page.locator(".approvals")).to_contain_text("approved by bob")
    expect(page.locator(".approval-comment")).to_have_text("go ahead")
    link = page.get_by_role("link", name="report.txt")
    expect(link).to_be_visible(timeout=LIVE)
    expect(page.get_by_role("button", name="Re-run with the same parameters")).to_be_visible()
    screenshot(page, "runs-run-completed")
    page.emulate_media(color_scheme="dark")
    screenshot(page, "runs-run-completed-dark")

    with page.expect_download() as info:
        link.click()
    saved = Path(info.value.path())
    assert saved.read_bytes() == b"report for prod\n"


def test_a_viewer_sees_no_buttons_and_a_rejection_reaches_the_page_live(
    browser: Browser, page: Page, site: Site, deploy_id: str
) -> None:
    log_in(page, site.url, "alice", site.password)
    run_url = _start_from_form(page, site, "7")
    status = page.locator("[data-run-status]")
    expect(status).to_have_attribute("data-run-status", "pending_approval")

    carol = _second_user(browser, site, "carol")
    try:
        carol.goto(run_url)
        expect(carol.locator("[data-run-status]")).to_have_attribute("data-run-status", "pending_approval")
        for name in ("Approve", "Reject", "Cancel run"):
            expect(carol.get_by_role("button", name=name)).to_have_count(0)
        screenshot(carol, "runs-run-viewer")
    finally:
        carol.context.close()

    bob = _second_user(browser, site, "bob")
    try:
        bob.goto(run_url)
        bob.get_by_label("Comment").fill("not during the freeze")
        bob.get_by_role("button", name="Reject").click()
        expect(bob.locator("[data-run-status]")).to_have_attribute("data-run-status", "cancelled")
    finally:
        bob.context.close()

    expect(status).to_have_attribute("data-run-status", "cancelled", timeout=LIVE)
    # The same message batch swaps the approvals in after the status (each part is its own swap): on a loaded machine
    # that can take longer than the default 5 s.
    expect(page.locator(".approval-comment")).to_have_text("not during the freeze", timeout=LIVE)
    expect(page.locator(".run-error")).to_contain_text("rejected by bob: not during the freeze", timeout=LIVE)
    screenshot(page, "runs-run-rejected")


def test_a_half_typed_comment_survives_the_stream_sending_the_controls_again(
    browser: Browser, page: Page, site: Site, deploy_id: str
) -> None:
    """The live stream sends every part when it connects, the controls too: on a slow machine that can be after the
    approver began typing. The swap the stream makes (htmx's, of the part's HTML) keeps what was typed."""
    log_in(page, site.url, "alice", site.password)
    run_url = _start_from_form(page, site, "4")
    bob = _second_user(browser, site, "bob")
    try:
        bob.goto(run_url)
        expect(bob.locator("[data-run-status]")).to_have_attribute("data-run-status", "pending_approval")
        bob.get_by_label("Comment").fill("half typed")
        bob.evaluate(
            "() => { const part = document.querySelector('#run-controls');"
            " htmx.swap(part, part.innerHTML, {swapStyle: 'innerHTML'}); }"
        )
        expect(bob.get_by_label("Comment")).to_have_value("half typed")
        bob.get_by_role("button", name="Reject").click()
        expect(bob.locator(".approval-comment")).to_have_text("half typed")
    finally:
        bob.context.close()


def test_the_pages_work_without_javascript(browser: Browser, site: Site, deploy_id: str) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, site.url, "alice", site.password)
        run_url = _start_from_form(page, site, "2")
        expect(page.locator("[data-run-status]")).to_have_attribute("data-run-status", "pending_approval")
        page.get_by_role("button", name="Cancel run").click()  # a plain form post, then the page again
        expect(page).to_have_url(run_url)
        expect(page.locator("[data-run-status]")).to_have_attribute("data-run-status", "cancelled")
        expect(page.locator(".run-error")).to_contain_text("cancelled by alice")
        screenshot(page, "runs-run-cancelled-no-js")
    finally:
        context.close()
