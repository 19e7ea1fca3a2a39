"""Records pages without a browser: filters, pagination and their 400s, failed first, files with the task's line,
result content and diff, and the API's live stream of a playbook, read by httpx."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ara.server.app import create_app
from tests.conftest import make_settings
from tests.support.server import running_server
from tests.web.conftest import Site
from tests.web.records_support import finish, record_failures, start_live, wait_for_running

PAGE = 3  # rows per page on this site, so a small playbook spans pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base: Path = tmp_path_factory.mktemp("records-site")
    settings = make_settings(base, ui={"page_size": PAGE})
    create_app(settings, workers=False).state.ara.engine.dispose()  # migrates
    with running_server(settings) as url:
        yield Site(url, settings)


@pytest.fixture(scope="module")
def failed(site: Site, tmp_path_factory: pytest.TempPathFactory) -> int:
    return record_failures(site.url, tmp_path_factory.mktemp("ansible"))


def rows(html: str, kind: str) -> list[str]:
    return re.findall(rf'<tr id="{kind}-(\d+)"', html)


def test_the_index_filters_like_the_api(site: Site, failed: int) -> None:
    page = httpx.get(f"{site.url}/ui/records/playbooks", params={"status": "failed", "path": "failures"})
    assert page.status_code == 200
    assert f'href="/ui/records/playbooks/{failed}"' in page.text
    other = httpx.get(f"{site.url}/ui/records/playbooks", params={"status": "completed"})
    assert f'href="/ui/records/playbooks/{failed}"' not in other.text
    assert "No playbook matches." in other.text
    later = httpx.get(f"{site.url}/ui/records/playbooks", params={"started_after": "2999-01-01"})
    assert "No playbook matches." in later.text


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"status": "bogus"}, "status", "bogus is not one of the available choices"),
        ({"started_after": "yesterday"}, "started_after", "Enter a valid date/time."),
        ({"page": "0"}, "page", "Enter a whole number"),
    ],
)
def test_a_bad_filter_is_the_form_again_with_the_message(
    site: Site, params: dict[str, str], field: str, words: str
) -> None:
    page = httpx.get(f"{site.url}/ui/records/playbooks", params=params)
    assert page.status_code == 400
    assert words in page.text
    assert f"<strong>{field}</strong>" in page.text
    assert "Traceback" not in page.text


def test_the_playbook_page_pages_results_and_shows_failures_first_on_request(site: Site, failed: int) -> None:
    url = f"{site.url}/ui/records/playbooks/{failed}"
    api = httpx.get(f"{site.url}/api/v1/results", params={"playbook": failed, "limit": 100}).json()
    newest = [str(r["id"]) for r in api["results"]]
    first = httpx.get(url)
    assert first.status_code == 200
    assert rows(first.text, "result") == newest[:PAGE]
    second = httpx.get(url, params={"results_page": 2})
    assert rows(second.text, "result") == newest[PAGE : 2 * PAGE]
    assert f"Page 2 of {(api['count'] - 1) // PAGE + 1} ({api['count']})" in second.text

    failing = [str(r["id"]) for r in api["results"] if r["status"] in ("failed", "unreachable")]
    assert failing and failing != newest[: len(failing)]  # newest first does not put them on top
    ordered = httpx.get(url, params={"failed_first": "1"})
    assert rows(ordered.text, "result") == (failing + [i for i in newest if i not in failing])[:PAGE]

    for status in ("failed", "unreachable", "ok"):
        wanted = [str(r["id"]) for r in api["results"] if r["status"] == status][:PAGE]
        assert wanted and rows(httpx.get(url, params={"status": status}).text, "result") == wanted, status
    bad = httpx.get(url, params={"status": "nope"})
    assert bad.status_code == 400 and "status" in bad.text
    assert httpx.get(f"{site.url}/ui/records/playbooks/999999").status_code == 404
    assert httpx.get(f"{site.url}/ui/records/playbooks/abc").status_code == 404


def test_the_file_marks_each_task_line_and_the_result_shows_its_content(site: Site, failed: int) -> None:
    results = httpx.get(f"{site.url}/api/v1/results", params={"playbook": failed, "status": "failed"}).json()
    result = httpx.get(f"{site.url}/api/v1/results/{results['results'][0]['id']}").json()
    task = result["task"]
    page = httpx.get(f"{site.url}/ui/records/results/{result['id']}")
    assert page.status_code == 200
    assert "Fail on localhost" in page.text and "/bin/false" in page.text
    link = f"/ui/records/files/{task['file']}#line-{task['lineno']}"
    assert link in page.text
    source = httpx.get(f"{site.url}/ui/records/files/{task['file']}")
    assert source.status_code == 200
    marked = f'<a id="line-{task["lineno"]}" name="line-{task["lineno"]}"></a><span class="hll">'
    assert f'id="line-{task["lineno"]}"' in source.text
    assert marked in source.text, "the task's line is not highlighted"
    tasks = httpx.get(f"{site.url}/api/v1/tasks", params={"playbook": failed}).json()["results"]
    lines = {t["lineno"] for t in tasks if t["file"] == task["file"]}
    assert len(lines) >= 3 and source.text.count('<span class="hll">') == len(lines)  # each task's line, no other
    assert "Fail on localhost" in source.text


def test_a_result_with_a_diff_shows_it(site: Site, failed: int) -> None:
    ids = httpx.get(f"{site.url}/api/v1/results", params={"playbook": failed, "limit": 1}).json()["results"][0]
    diff = {"before": "port: 80\n", "after": "port: 8080\n", "before_header": "a.conf", "after_header": "a.conf"}
    made = httpx.post(
        f"{site.url}/api/v1/results",
        json={
            **{k: ids[k] for k in ("host", "task", "play", "playbook")},
            "status": "ok",
            "changed": True,
            "content": {"changed": True, "diff": [diff]},
        },
    )
    assert made.status_code == 201, made.text
    page = httpx.get(f"{site.url}/ui/records/results/{made.json()['id']}")
    assert "<h2>Diff</h2>" in page.text
    text = re.sub(r"<[^>]+>", "", page.text)
    assert "-port: 80" in text and "+port: 8080" in text
    changed = httpx.get(f"{site.url}/ui/records/playbooks/{failed}", params={"status": "changed"})
    assert rows(changed.text, "result") == [str(made.json()["id"])]  # shown statuses filter: ok and changed


def test_hosts_pages_show_stats_and_facts(site: Site, failed: int) -> None:
    index = httpx.get(f"{site.url}/ui/records/hosts", params={"name": "localhost"})
    assert index.status_code == 200
    host_id = re.search(r'href="/ui/records/hosts/(\d+)">localhost<', index.text)
    assert host_id
    page = httpx.get(f"{site.url}/ui/records/hosts/{host_id.group(1)}")
    assert page.status_code == 200 and '<h2 id="facts">Facts</h2>' in page.text
    assert rows(page.text, "result")


def sse_events(text: str) -> list[tuple[str, dict[str, object]]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        name = next(line[6:].strip() for line in lines if line.startswith("event:"))
        data = "\n".join(line[6:] for line in lines if line.startswith("data: "))
        out.append((name, json.loads(data)))
    return out


def test_the_api_stream_of_an_ended_playbook_sends_everything_then_end(site: Site, failed: int) -> None:
    answer = httpx.get(f"{site.url}/api/v1/playbooks/{failed}/events", timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    events = sse_events(answer.text)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "playbook" and kinds[-1] == "end" and events[-1][1]["status"] == "failed"
    count = httpx.get(f"{site.url}/api/v1/results", params={"playbook": failed}).json()["count"]
    results = [data for kind, data in events if kind == "result"]
    assert len(results) == count
    tasks = {data["id"] for kind, data in events if kind == "task"}
    assert all(r["task"] in tasks for r in results)  # a result never comes before its task
    assert any(r["task_name"] == "Fail on localhost" and r["status"] == "failed" for r in results)
    assert httpx.get(f"{site.url}/api/v1/playbooks/999999/events").status_code == 404
    bad = httpx.get(f"{site.url}/api/v1/playbooks/{failed}/events", params={"after": "x"})
    assert bad.status_code == 400 and "after" in bad.json()
    resumed = httpx.get(
        f"{site.url}/api/v1/playbooks/{failed}/events", params={"after": "0.0.0"}, headers={"Last-Event-ID": "9.9.9999"}
    )
    assert [kind for kind, _ in sse_events(resumed.text)] == ["playbook", "end"]  # the header's cursor won
    assert "/api/v1/playbooks/{key}/events" in httpx.get(f"{site.url}/openapi.json").json()["paths"]


def test_the_api_stream_follows_a_running_playbook_until_it_ends(site: Site, tmp_path: Path) -> None:
    process = start_live(site.url, tmp_path)
    try:
        playbook_id = wait_for_running(site.url)
        seen: list[tuple[str, str]] = []
        with httpx.stream("GET", f"{site.url}/api/v1/playbooks/{playbook_id}/events", timeout=60) as stream:
            kind = ""
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    status = str(json.loads(line[5:]).get("status", ""))
                    running = httpx.get(f"{site.url}/api/v1/playbooks/{playbook_id}").json()["status"] == "running"
                    seen.append((kind, status if kind != "result" or not running else "while-running"))
        assert ("result", "while-running") in seen  # results arrived while the playbook still ran
        assert seen[-1] == ("end", "completed")
        assert seen.count(("task", "completed")) == 6  # each task again when it ended (most were sent running)
    finally:
        assert finish(process) == 0
