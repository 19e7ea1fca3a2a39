"""Records in Chromium: browse a playbook recorded from a real ``ansible-playbook`` run down to its failed result
and the file line of its task, and watch a long playbook's results appear live on an open page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import log_in, screenshot
from tests.web.conftest import Site
from tests.web.records_support import finish, record_failures, start_live, wait_for_running


@pytest.fixture(scope="module")
def failed(site: Site, tmp_path_factory: pytest.TempPathFactory) -> int:
    return record_failures(site.url, tmp_path_factory.mktemp("ansible"))


def test_browse_from_the_index_to_the_failed_results_file_line(page: Page, site: Site, failed: int) -> None:
    log_in(page, site.url, "carol", site.password)
    page.get_by_role("link", name="Records", exact=True).click()
    expect(page.get_by_role("heading", name="Recorded playbooks")).to_be_visible()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/ui/records/playbooks\?status=failed"))
    screenshot(page, "records-index")

    page.locator(f'a[href="/ui/records/playbooks/{failed}"]').first.click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    page.get_by_label("Failed first").check()
    page.get_by_role("button", name="Show").click()
    first = page.locator("#result-rows tr").first
    expect(first).to_have_attribute("data-status", "failed")
    screenshot(page, "records-playbook")

    first.get_by_role("link", name="Fail on localhost").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fail on localhost on localhost")
    expect(page.locator(".content")).to_contain_text("/bin/false")
    screenshot(page, "records-result")

    page.locator('a[href*="#line-"]').first.click()
    expect(page).to_have_url(re.compile(r"/ui/records/files/\d+#line-\d+$"))
    line = page.url.rsplit("#line-", 1)[1]
    expect(page.locator(f'[id="line-{line}"]')).to_be_attached()
    expect(page.locator(f'.source [id="line-{line}"] + .hll')).to_contain_text("name: Fail on localhost")
    screenshot(page, "records-file")


def test_a_running_playbooks_results_appear_live(page: Page, site: Site, tmp_path: Path) -> None:
    process = start_live(site.url, tmp_path)
    try:
        playbook_id = wait_for_running(site.url)
        page.goto(f"{site.url}/ui/records/playbooks/{playbook_id}")
        expect(page.locator("#playbook-status")).to_contain_text("running")
        at_load = set(page.locator("#result-rows tr").evaluate_all("rows => rows.map(r => r.id)"))
        screenshot(page, "records-live-start")
        expect(page.locator("#result-rows tr")).not_to_have_count(len(at_load), timeout=60_000)
        still = httpx.get(f"{site.url}/api/v1/playbooks/{playbook_id}").json()["status"]
        now = set(page.locator("#result-rows tr").evaluate_all("rows => rows.map(r => r.id)"))
        assert now - at_load, "no new result row"
        assert still == "running", "the new row came only after the playbook ended"
        screenshot(page, "records-live-running")
        expect(page.locator("#live-notice")).to_contain_text("ended", timeout=90_000)
        expect(page.locator("#playbook-status")).to_contain_text("completed")
        expect(page.locator("#task-rows tr")).to_have_count(6)
        expect(page.locator("#task-rows .status-running")).to_have_count(0)  # each row replaced when it ended
        screenshot(page, "records-live-end")
    finally:
        assert finish(process) == 0
