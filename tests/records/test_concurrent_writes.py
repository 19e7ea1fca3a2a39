"""Concurrent identical creates against a real server: get-or-create paths never answer a 500, and a pool with
no free connection answers 503, not 500."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.server import running_server

WRITERS = 16


def at_once(count: int, send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
    """``count`` requests released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(count)

    def one(index: int) -> httpx.Response:
        with httpx.Client(timeout=60) as client:
            barrier.wait(timeout=60)
            return send(client, index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def test_concurrent_identical_creates_all_succeed(settings: Settings) -> None:
    with running_server(settings) as url:
        labels = ["shared", "check:False", f"many-{WRITERS}"]

        def playbook(client: httpx.Client, i: int) -> httpx.Response:
            body = {"ansible_version": "2.19", "path": f"/p{i}.yml", "status": "running", "labels": labels}
            return client.post(f"{url}/api/v1/playbooks", json=body)

        created = at_once(WRITERS, playbook)
        assert statuses(created) == [201] * WRITERS, [r.text for r in created]
        ids = [r.json()["id"] for r in created]
        label_ids = {tuple(label["id"] for label in r.json()["labels"]) for r in created}
        assert len(label_ids) == 1  # one row per label name, shared by every playbook
        assert httpx.get(f"{url}/api/v1/labels").json()["count"] == len(labels)

        # The same task file content in every playbook (shared by sha1), and the same file twice in one.
        def file(client: httpx.Client, i: int) -> httpx.Response:
            body = {"playbook": ids[i // 2], "path": "/shared/tasks.yml", "content": "- debug: msg=shared\n"}
            return client.post(f"{url}/api/v1/files", json=body)

        files = at_once(WRITERS, file)
        assert statuses(files) == [201] * WRITERS, [r.text for r in files]
        assert len({r.json()["sha1"] for r in files}) == 1
        assert len({r.json()["id"] for r in files}) == WRITERS // 2

        # The same host name in one playbook (pairs) and across playbooks (the latest host entry).
        def host(client: httpx.Client, i: int) -> httpx.Response:
            return client.post(f"{url}/api/v1/hosts", json={"playbook": ids[i // 2], "name": "web-1"})

        hosts = at_once(WRITERS, host)
        assert statuses(hosts) == [201] * WRITERS, [r.text for r in hosts]
        assert len({r.json()["id"] for r in hosts}) == WRITERS // 2
        latest = httpx.get(f"{url}/api/v1/latesthosts").json()
        assert latest["count"] == 1
        assert latest["results"][0]["host"]["id"] in {r.json()["id"] for r in hosts}


def test_concurrent_creates_of_a_unique_key_answer_the_serial_400(settings: Settings) -> None:
    """A create-only resource (labels, records): one 201, and the losers the 400 a serial duplicate gets."""
    with running_server(settings) as url:
        labels = at_once(WRITERS, lambda client, _i: client.post(f"{url}/api/v1/labels", json={"name": "same"}))
        assert statuses(labels) == [201] + [400] * (WRITERS - 1), [r.text for r in labels]
        losers = [r.json() for r in labels if r.status_code == 400]
        assert all(body == {"name": ["label with this name already exists."]} for body in losers)

        body: dict[str, Any] = {"ansible_version": "2.19", "path": "/p.yml"}
        playbook = httpx.post(f"{url}/api/v1/playbooks", json=body).json()["id"]
        record = {"playbook": playbook, "key": "k", "value": "v", "type": "text"}
        records = at_once(WRITERS, lambda client, _i: client.post(f"{url}/api/v1/records", json=record))
        assert statuses(records) == [201] + [400] * (WRITERS - 1), [r.text for r in records]
        assert {"non_field_errors": ["The fields key, playbook must make a unique set."]} in [r.json() for r in records]


def test_no_free_connection_answers_503(tmp_path: Path) -> None:
    """The pool's only connection is taken: the request waits ``pool_timeout`` then gets a clean 503."""
    settings = make_settings(tmp_path, database={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2})
    apps: list[Any] = []
    with running_server(settings, wrap=lambda app: apps.append(app) or app) as url:
        assert httpx.get(f"{url}/api/v1/playbooks").status_code == 200
        with apps[0].state.ara.engine.connect():
            busy = httpx.post(f"{url}/api/v1/labels", json={"name": "x"}, timeout=60)
        assert busy.status_code == 503
        assert busy.json() == {"detail": "The database is busy; try again shortly."}
        assert busy.headers["retry-after"] == "1"
        assert httpx.post(f"{url}/api/v1/labels", json={"name": "x"}).status_code == 201
