"""The search box across everything, against a real server holding a recorded ``ansible-playbook`` run, a
playbook run and an app run (``search_world``): what each user finds, the groups and their links in Chromium,
and bad syntax answered on the page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from ara.apps.models import AppMember
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.users.models import User
from tests.support.browser import log_in, screenshot
from tests.web.search_world import APP_SLUG, DEFINITION, LABEL, World, search_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with search_world(tmp_path_factory.mktemp("search")) as made:
        yield made


def _search(world: World, user: str | None, q: str, **params: str) -> httpx.Response:
    with world.client(user) as client:
        return client.get("/ui/search", params={"q": q, **params})


def _links(html: str) -> set[str]:
    return set(re.findall(r'href="(/ui/(?:records/results|records/playbooks|runs|apps)/[^"]+)"', html))


def test_one_box_finds_failed_results_runs_and_app_runs_in_chromium(world: World, page: Page) -> None:
    log_in(page, world.site.url, "alice", world.site.password)
    page.get_by_label("Search everything").fill("status:failed")
    page.get_by_label("Search everything").press("Enter")
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    results = page.get_by_role("region", name=re.compile("^Results"))
    expect(results.get_by_role("link", name="Fail on localhost")).to_have_attribute(
        "href", re.compile(r"^/ui/records/results/\d+$")
    )
    runs = page.get_by_role("region", name=re.compile("^Playbook runs"))
    expect(runs.get_by_role("link", name=DEFINITION)).to_have_attribute("href", f"/ui/runs/{world.run_id}")
    apps = page.get_by_role("region", name=re.compile("^App runs"))
    expect(apps.get_by_role("link", name=re.compile("digest"))).to_have_attribute(
        "href", f"/ui/apps/{world.app_id}/runs/{world.app_run_id}"
    )
    playbooks = page.get_by_role("region", name=re.compile("^Recorded playbooks"))
    expect(playbooks.get_by_role("link", name=re.compile("failures.yml"))).to_have_attribute(
        "href", f"/ui/records/playbooks/{world.recorded_playbook_id}"
    )
    expect(playbooks.get_by_role("link")).to_have_count(1)  # the runs' own records playbooks are in their groups
    screenshot(page, "search-status-failed")
    page.get_by_role("link", name=re.compile("^Fail on localhost")).first.wait_for()
    # The box on the page keeps the query; a narrower one leaves only the results of the labelled playbook's host.
    box = page.get_by_label(re.compile("^Search failed results"))
    expect(box).to_have_value("status:failed")
    box.fill(f"label:{LABEL} host:dead kind:result")  # the hits follow the typing (htmx), no Enter needed
    expect(page.get_by_role("region", name=re.compile("^Failed results"))).to_contain_text("Ping everyone")
    expect(page.get_by_role("link", name="Fail on localhost")).to_have_count(0)
    expect(page.get_by_role("region", name=re.compile("^Playbook runs"))).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/ui/search\?q=label"))
    expect(page.get_by_label("Search everything")).to_have_value(f"label:{LABEL} host:dead kind:result")
    screenshot(page, "search-label-host-kind")


def test_bad_syntax_is_a_message_next_to_the_box_in_chromium(world: World, page: Page) -> None:
    log_in(page, world.site.url, "alice", world.site.password)
    page.goto(f"{world.site.url}/ui/search?q=colour:red")
    box = page.get_by_label(re.compile("^Search failed results"))
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#search-q-error")).to_contain_text("Unknown filter colour:")
    screenshot(page, "search-bad-syntax")


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ('deploy "web', "A quote is not closed"),
        ("status:", "status: needs a value"),
        ("status:purple", "Unknown status 'purple'"),
        ("kind:host", "Unknown kind 'host'"),
        ("status:ok status:failed", "status: is given twice"),
        ("x" * 501, "too long"),
        ("status:running kind:result", "Unknown status 'running'"),
    ],
)
def test_bad_syntax_is_a_400_page_naming_the_mistake(world: World, q: str, message: str) -> None:
    answer = _search(world, "alice", q)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert message in answer.text.replace("&#39;", "'")
    assert 'aria-invalid="true"' in answer.text


def test_a_page_that_is_not_a_number_is_a_400_not_a_500(world: World) -> None:
    answer = _search(world, "alice", "kind:run", page="two")
    assert answer.status_code == 400 and "whole number" in answer.text


def test_a_user_without_a_role_on_the_app_does_not_find_its_runs_until_given_one(world: World) -> None:
    app_link = f"/ui/apps/{world.app_id}/runs/{world.app_run_id}"
    assert app_link in _links(_search(world, "alice", APP_SLUG).text)  # the owner
    assert app_link not in _links(_search(world, "admin", APP_SLUG).text)  # even an admin holds no role on it
    assert app_link not in _links(_search(world, "carol", f"kind:app {APP_SLUG}").text)
    engine = make_engine(world.site.settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=True)) as session:
            carol = session.scalar(select(User.id).where(User.username == "carol"))
            session.add(AppMember(app_id=world.app_id, user_id=carol, role="viewer"))
    finally:
        engine.dispose()
    assert app_link in _links(_search(world, "carol", f"kind:app {APP_SLUG}").text)


def test_runs_follow_the_playbook_read_rule_and_anonymous_visitors_find_records_only(world: World) -> None:
    run_link = f"/ui/runs/{world.run_id}"
    # Every role may read playbook runs (``permissions.NEEDS['read']`` is viewer): a viewer finds alice's run.
    assert run_link in _links(_search(world, "carol", DEFINITION).text)
    anonymous = _search(world, None, "status:failed")
    assert anonymous.status_code == 200  # records are open (read_login_required is false)
    links = _links(anonymous.text)
    assert run_link not in links and not any(link.startswith("/ui/apps/") for link in links)
    assert any(link.startswith("/ui/records/results/") for link in links)
    assert f"/ui/records/playbooks/{world.recorded_playbook_id}" in links
    assert "to search playbook runs and app runs too" in anonymous.text


def test_words_narrow_every_group_and_results_default_to_failures(world: World) -> None:
    html = _search(world, "alice", "localhost").text
    assert "Fail on localhost" in html
    assert "Still running after the unreachable host" not in html  # an ok result: not a failure
    ok = _search(world, "alice", "status:ok Still running").text
    assert "Still running after the unreachable host" in ok
    nothing = _search(world, "alice", "no-such-thing-anywhere").text
    assert _links(nothing) == set() and nothing.count("Nothing found.") == 4
