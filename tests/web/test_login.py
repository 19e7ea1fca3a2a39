"""Logging in and out of the web UI: the form, its CSRF protection, safe redirects, and the cookie's reach."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.support.browser import log_in, screenshot
from tests.web.conftest import Site, csrf_of


def _csrf(client: httpx.Client, site: Site) -> str:
    return csrf_of(client.get(f"{site.url}/ui/login").text)


def test_the_start_page_is_html_not_a_json_404(site: Site) -> None:
    answer = httpx.get(f"{site.url}/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert 'href="/ui/records/playbooks"' in answer.text


def test_a_wrong_password_shows_the_form_again_with_a_message(site: Site) -> None:
    with httpx.Client() as client:
        token = _csrf(client, site)
        answer = client.post(
            f"{site.url}/ui/login", data={"username": "alice", "password": "nope", "csrf_token": token}
        )
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert "ara_session" not in answer.headers.get("set-cookie", "")


def test_a_form_without_its_csrf_token_is_refused(site: Site) -> None:
    with httpx.Client() as client:
        _csrf(client, site)
        answer = client.post(f"{site.url}/ui/login", data={"username": "alice", "password": site.password})
        forged = client.post(
            f"{site.url}/ui/login",
            data={"username": "alice", "password": site.password, "csrf_token": "guessed"},
        )
    assert answer.status_code == forged.status_code == 403
    assert "CSRF" in answer.text


def test_a_cross_origin_form_is_refused_even_with_the_token(site: Site) -> None:
    with httpx.Client() as client:
        token = _csrf(client, site)
        answer = client.post(
            f"{site.url}/ui/login",
            data={"username": "alice", "password": site.password, "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
    assert answer.status_code == 403


def test_login_redirects_only_within_the_site_and_the_cookie_does_not_open_the_api(site: Site) -> None:
    with httpx.Client() as client:
        token = _csrf(client, site)
        answer = client.post(
            f"{site.url}/ui/login",
            data={"username": "alice", "password": site.password, "csrf_token": token, "next": "//evil.example/x"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/"
        cookie = answer.cookies["ara_session"]
        assert "HttpOnly" in answer.headers["set-cookie"] and "samesite=lax" in answer.headers["set-cookie"].lower()
        assert "alice" in client.get(f"{site.url}/").text
        # The login cookie is for pages: an API route that always needs a login does not take it.
        assert client.get(f"{site.url}/playbook/definitions").status_code == 401
        client.post(f"{site.url}/ui/logout", data={"csrf_token": token})
    with httpx.Client(cookies={"ara_session": cookie}) as replayed:  # the old cookie, after logout
        assert "alice" not in replayed.get(f"{site.url}/").text


def test_a_page_behind_login_sends_an_anonymous_visitor_to_the_form_and_back(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/ui/account")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Faccount"))
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(site.password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/ui/account$"))


def test_log_in_and_out_in_the_browser(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/ui/login")
    screenshot(page, "login")
    log_in(page, site.url, "alice", site.password)
    expect(page.get_by_role("link", name="alice")).to_be_visible()
    screenshot(page, "start-page")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
