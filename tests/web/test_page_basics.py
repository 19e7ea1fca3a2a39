"""Every page of the UI, fetched as a logged-in admin without JavaScript: it renders, and meets the basics that
hold for all of them: a language, one ``<h1>``, a label for every field, a name for every button and link, no
inline script or event handler (the CSP forbids them, so they would silently do nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from ara.clients.http import AraHttpClient
from tests.support.factories import Recorded, record_playbook
from tests.web.conftest import Site, form_login

FIELDS = ("input", "select", "textarea")
UNLABELLED_INPUTS = ("hidden", "submit", "button", "reset", "image")


class PageFacts(HTMLParser):
    """What the checks need from one page: its elements with their attributes and the text inside them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = ""
        self.h1 = 0
        self.labels_for: set[str] = set()
        self.fields: list[dict[str, str]] = []
        self.inline_scripts = 0
        self.handlers: list[str] = []
        self.open: list[tuple[str, dict[str, str], list[str]]] = []  # button/a/label being read: its text
        self.nameless: list[str] = []
        self.wrapped_fields: set[int] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        self.handlers += [f"{tag} {key}" for key in named if key.startswith("on")]
        if tag == "html":
            self.lang = named.get("lang", "")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "script" and not named.get("src"):
            self.inline_scripts += 1
        elif tag == "label" and named.get("for"):
            self.labels_for.add(named["for"])
        if tag in FIELDS and named.get("type", "text") not in UNLABELLED_INPUTS:
            if any(open_tag == "label" for open_tag, _, _ in self.open):
                self.wrapped_fields.add(len(self.fields))
            self.fields.append(named)
        if tag in ("button", "a", "label"):
            self.open.append((tag, named, []))

    def handle_data(self, data: str) -> None:
        for _, _, text in self.open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("button", "a", "label") and self.open and self.open[-1][0] == tag:
            _, named, text = self.open.pop()
            is_control = tag == "button" or (tag == "a" and "href" in named)  # an <a> without href is an anchor
            if is_control and not "".join(text).strip() and not named.get("aria-label") and not named.get("title"):
                self.nameless.append(f"<{tag} {named}>")

    def unlabelled(self) -> list[dict[str, str]]:
        return [
            field
            for index, field in enumerate(self.fields)
            if index not in self.wrapped_fields
            and field.get("id") not in self.labels_for
            and not field.get("aria-label")
            and not field.get("aria-labelledby")
        ]


@pytest.fixture(scope="module")
def logged_in(site: Site) -> Iterator[tuple[httpx.Client, Recorded]]:
    api = AraHttpClient(endpoint=site.url, auth=("admin", site.password))
    recorded = record_playbook(api, labels=("prod",))
    api.close()
    with httpx.Client(base_url=site.url, timeout=30) as client:
        form_login(client, "admin", site.password)
        yield client, recorded


def pages(recorded: Recorded) -> list[str]:
    playbook = recorded.playbook["id"]
    host = next(iter(recorded.hosts.values()))["id"]
    return [
        "/",
        "/ui/account",
        "/ui/records/playbooks",
        "/ui/records/playbooks?status=failed&label=prod",
        f"/ui/records/playbooks/{playbook}",
        f"/ui/records/files/{recorded.files[0]['id']}",
        f"/ui/records/results/{recorded.results[-1]['id']}",
        "/ui/records/hosts",
        f"/ui/records/hosts/{host}",
        "/ui/runs",
        "/ui/apps",
        "/ui/chat",
        "/ui/search?q=status:failed",
        "/ui/nowhere",
    ]


def test_every_page_has_a_language_one_heading_labels_names_and_no_inline_script(
    logged_in: tuple[httpx.Client, Recorded],
) -> None:
    client, recorded = logged_in
    problems: dict[str, list[str]] = {}
    for path in pages(recorded):
        answer = client.get(path)
        expected = 404 if path == "/ui/nowhere" else 200
        assert answer.status_code == expected, (path, answer.text[:500])
        assert answer.headers["content-type"].startswith("text/html"), path
        facts = PageFacts()
        facts.feed(answer.text)
        found = []
        if facts.lang != "en":
            found.append("no lang on <html>")
        if facts.h1 != 1:
            found.append(f"{facts.h1} <h1> elements")
        found += [f"field without a label: {field}" for field in facts.unlabelled()]
        found += [f"no accessible name: {element}" for element in facts.nameless]
        if facts.inline_scripts:
            found.append(f"{facts.inline_scripts} inline <script>")
        found += [f"inline event handler: {handler}" for handler in facts.handlers]
        if found:
            problems[path] = found
    assert not problems, problems


def test_pages_show_the_recorded_data_without_javascript(logged_in: tuple[httpx.Client, Recorded]) -> None:
    """Reading needs no script: the playbook's failed task and hosts are in the HTML the server sends."""
    client, recorded = logged_in
    html = client.get(f"/ui/records/playbooks/{recorded.playbook['id']}").text
    assert "configure" in html and all(name in html for name in recorded.hosts)
