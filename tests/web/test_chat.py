"""The chat page in Chromium against a real server (SQLite, real bubblewrap) whose model is the scripted
OpenAI-compatible server: the answer streams into the page token by token, a tool call shows its arguments and
result, the workspace's files are browsable, and the page is a control peer: a call from the API's
``POST /session/runtime/control/call`` reaches the open page and gets its answer. Without JavaScript the form
still works, and the control socket takes only this site's pages with a login."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from ara.runtime.sandbox.select import choose_sandbox
from tests.conftest import make_settings
from tests.support.browser import log_in, screenshot
from tests.support.fake_llm import FakeLLM, call, fake_llm, text
from tests.support.server import running_server
from tests.web.conftest import PASSWORD, Site, add_users, form_login

ALICE = ("alice", PASSWORD)


@dataclass(frozen=True)
class World:
    site: Site
    model: FakeLLM

    def control(self, action: str, args: dict[str, Any]) -> httpx.Response:
        body = {"action": action, "args": args, "timeout_ms": 20_000}
        return httpx.post(f"{self.site.url}/session/runtime/control/call", auth=ALICE, json=body, timeout=60)


@pytest.fixture(scope="module")
def chat_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("chat-ui"), runtime={"max_turns": 3})
    if not choose_sandbox(settings.runtime).strong:
        pytest.skip("bubblewrap does not work here")
    add_users(settings)
    with fake_llm() as model, pytest.MonkeyPatch.context() as patch, running_server(settings) as url:
        patch.setenv("OPENAI_BASE_URL", model.url)
        patch.setenv("OPENAI_API_KEY", "test")
        yield World(Site(url, settings), model)


@pytest.fixture
def chat(chat_site: World) -> World:
    chat_site.model.reset()
    return chat_site


def open_chat(page: Page, chat_site: World, user: str = "alice") -> None:
    """Logged in on the chat page with a running session whose page actions are registered."""
    log_in(page, chat_site.site.url, user, PASSWORD)
    page.goto(f"{chat_site.site.url}/ui/chat")
    start = page.get_by_role("button", name="Start my session")
    if start.count():
        start.click()
    expect(page.locator("#control-state")).to_have_attribute("data-state", "on", timeout=30_000)


#: Records every value the last answer's text takes in the page (one per render of a delta).
WATCH_ANSWER = """() => {
  window.seenAnswers = [];
  new MutationObserver(() => {
    const texts = document.querySelectorAll(".msg-assistant .text");
    if (texts.length) { window.seenAnswers.push(texts[texts.length - 1].textContent); }
  }).observe(document.getElementById("transcript"), {subtree: true, childList: true, characterData: true});
}"""


def test_the_answer_streams_into_the_page_token_by_token(chat: World, page: Page) -> None:
    gate = threading.Event()
    final = "Hello from the scripted model, streamed."
    chat.model.script(text(final, chunk_chars=5, chunk_delay=0.05, gate=gate, gate_timeout=60))
    open_chat(page, chat)
    screenshot(page, "chat-empty")
    page.evaluate(WATCH_ANSWER)
    page.get_by_label("Message").fill("Say hello")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".msg-assistant .text").last
    # The whole text is on the page while the model still holds its last chunk: the turn has not ended.
    expect(answer).to_have_text(final, timeout=30_000)
    expect(page.locator("#chat-status")).to_have_text("Answering…")
    screenshot(page, "chat-streaming")
    gate.set()
    expect(page.locator("#chat-status")).to_have_text("", timeout=30_000)
    seen: list[str] = page.evaluate("window.seenAnswers")
    assert len(set(seen)) >= 4, seen  # it grew a piece at a time ...
    assert all(final.startswith(value) for value in seen), seen  # ... each a beginning of the answer
    expect(page).to_have_url(re.compile(r"/ui/chat\?chat=.+"))
    page.reload()  # the stored chat
    expect(page.locator(".msg-user .text")).to_have_text(["Say hello"])
    expect(page.locator(".msg-assistant .text")).to_have_text([final])
    screenshot(page, "chat-streamed")


def test_a_tool_call_shows_its_arguments_and_result_and_the_file_is_browsable(chat: World, page: Page) -> None:
    content = "# Notes\nwritten by the agent\n"
    chat.model.script(
        call("write_file", {"path": "notes.md", "content": content}),
        call("exec", {"command": "cat notes.md"}),  # in the session's bubblewrap sandbox
        text("I wrote notes.md."),
    )
    open_chat(page, chat)
    page.get_by_label("Message").fill("Write notes.md")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg-tool .tool-name")).to_have_text(["write_file", "exec"], timeout=30_000)
    wrote, ran = page.locator(".msg-tool").nth(0), page.locator(".msg-tool").nth(1)
    expect(wrote.locator(".tool-args")).to_contain_text('"path": "notes.md"')
    expect(wrote.locator(".tool-result")).to_contain_text("/root/.ara/workspace/notes.md", timeout=30_000)
    expect(ran.locator(".tool-args")).to_contain_text('"command": "cat notes.md"')
    expect(ran.locator(".tool-result")).to_contain_text('"stdout": "# Notes\\nwritten by the agent\\n"', timeout=30_000)
    expect(ran.locator(".tool-result")).to_contain_text('"exit_code": 0')
    expect(page.locator(".msg-assistant .text").last).to_have_text("I wrote notes.md.")
    expect(page.locator("#workspace-files").get_by_role("link", name="notes.md")).to_be_visible()
    screenshot(page, "chat-tool-call")
    page.reload()  # the stored chat shows the calls too
    expect(page.locator(".msg-tool .tool-name")).to_have_text(["write_file", "exec"])
    expect(page.locator(".msg-tool").nth(0).locator(".tool-result")).to_contain_text("/root/.ara/workspace/notes.md")
    expect(page.locator(".msg-tool").nth(1).locator(".tool-result")).to_contain_text('"exit_code": 0')
    page.locator("#workspace-files").get_by_role("link", name="notes.md").click()
    expect(page.locator(".file-content pre")).to_have_text(content)
    expect(page.locator(".file-content .gh")).to_have_text("# Notes")  # Pygments: a Markdown heading
    screenshot(page, "chat-file")
    page.get_by_role("link", name="back to the folder").click()
    expect(page.get_by_role("link", name="notes.md")).to_be_visible()
    screenshot(page, "chat-files")


def test_a_control_call_from_the_api_is_answered_by_the_open_page(chat: World, page: Page) -> None:
    open_chat(page, chat)
    listed = httpx.get(f"{chat.site.url}/session/runtime/control/actions", auth=ALICE, timeout=30)
    assert listed.status_code == 200, listed.text
    assert {a["name"] for a in listed.json()["actions"]} >= {"show_message", "open_file"}

    answer = chat.control("show_message", {"text": "Deploy finished"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True
    assert answer.json()["result"] == {"shown": True, "text": "Deploy finished"}
    expect(page.locator(".control-message")).to_have_text(["Deploy finished"])

    httpx.post(
        f"{chat.site.url}/session/files/write",
        auth=ALICE,
        json={"writes": [{"path": "plan.txt", "content": "step one\n"}]},
        timeout=30,
    ).raise_for_status()
    opened = chat.control("open_file", {"path": "plan.txt"})
    assert opened.json()["ok"] is True, opened.text
    assert opened.json()["result"] == {"opened": "/root/.ara/workspace/plan.txt", "bytes": 9}
    expect(page.locator("#file-view-content")).to_have_text("step one\n")
    missing = chat.control("open_file", {"path": "../../etc/passwd"})
    assert missing.json()["ok"] is False and missing.json()["error"]
    unknown = chat.control("reboot", {})
    assert unknown.status_code == 409
    screenshot(page, "chat-control")


def _login(client: httpx.Client, user: str = "alice") -> str:
    return form_login(client, user)


def test_without_javascript_the_form_posts_and_an_empty_message_is_refused(chat: World) -> None:
    chat.model.script(text("plain answer"))
    with httpx.Client(base_url=chat.site.url, timeout=60) as client:
        token = _login(client, "bob")
        empty = client.post("/ui/chat/turn", data={"message": "  ", "csrf_token": token})
        assert empty.status_code == 400
        assert re.search(r'id="f-message-error">[^<]*empty', empty.text)
        sent = client.post("/ui/chat/turn", data={"message": "hello there", "csrf_token": token})
        assert sent.status_code == 303 and sent.headers["location"].startswith("/ui/chat?chat=")
        shown = client.get(sent.headers["location"])
        assert "hello there" in shown.text and "plain answer" in shown.text
        assert client.post("/ui/chat/turn", data={"message": "x"}).status_code == 403  # no CSRF token
        assert client.get("/ui/chat/files/view", params={"path": "../../../etc/passwd"}).status_code in (400, 403, 404)
        assert client.get("/ui/chat", params={"chat": "conv-of-nobody"}).status_code == 200
        for bad in ("a\x00b", "/etc", "x" * 5000, "/root/.ara/workspace/../../../proc/self/environ"):
            for route in ("/ui/chat/files", "/ui/chat/files/view"):
                refused = client.get(route, params={"path": bad})
                assert 400 <= refused.status_code < 500, (route, bad, refused.status_code)


def test_the_control_socket_takes_only_this_sites_pages_with_a_login(chat: World) -> None:
    ws = chat.site.url.replace("http://", "ws://") + "/ui/chat/control"
    with httpx.Client(base_url=chat.site.url) as client:
        _login(client)
        cookie = f"ara_session={client.cookies['ara_session']}"
    with pytest.raises(InvalidStatus) as foreign:
        connect(ws, additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}).close()
    assert foreign.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as anonymous:
        connect(ws, additional_headers={"Origin": chat.site.url}).close()
    assert anonymous.value.response.status_code == 401
    with connect(ws, additional_headers={"Cookie": cookie, "Origin": chat.site.url}) as socket:
        assert '"ready"' in str(socket.recv(timeout=10))


def test_the_first_message_starts_the_session_and_the_page_then_joins_its_control_channel(
    chat: World, page: Page
) -> None:
    chat.model.script(text("Session started for you."))
    log_in(page, chat.site.url, "carol", PASSWORD)  # a viewer with no session yet
    page.goto(f"{chat.site.url}/ui/chat")
    expect(page.get_by_role("button", name="Start my session")).to_be_visible()
    screenshot(page, "chat-no-session")
    page.get_by_label("Message").fill("hello")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".msg-assistant .text").last).to_have_text("Session started for you.", timeout=30_000)
    expect(page.locator("#control-state")).to_have_attribute("data-state", "on", timeout=30_000)
    body = {"action": "show_message", "args": {"text": "hi carol"}, "timeout_ms": 20_000}
    answer = httpx.post(
        f"{chat.site.url}/session/runtime/control/call", auth=("carol", PASSWORD), json=body, timeout=60
    )
    assert answer.status_code == 200 and answer.json()["result"]["shown"] is True, answer.text
    expect(page.locator(".control-message")).to_have_text(["hi carol"])
