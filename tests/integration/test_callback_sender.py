"""``ara.plugins.sender``: ordered background calls, ids passed along through ``Ref``, and the failure policy."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import ara.plugins
from ara.clients.base import AraClient
from ara.clients.errors import ConnectError, ServerError
from ara.plugins.sender import Ref, Sender, Unresolved


class FakeClient:
    """Records calls; a path in ``fail`` answers 500, any call after ``down`` is set cannot connect."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.fail: set[str] = set()
        self.down = False
        self.next_id = 0
        self.thread_names: set[str] = set()

    def _call(self, method: str, path: str, fields: dict[str, Any]) -> dict[str, Any]:
        self.thread_names.add(threading.current_thread().name)
        if self.down:
            raise ConnectError("cannot connect to http://nowhere")
        if path in self.fail:
            raise ServerError(method, path, 500, {"detail": "broken"})
        self.calls.append((method, path, fields))
        self.next_id += 1
        return {"id": self.next_id, **fields}

    def post(self, path: str, /, **fields: Any) -> dict[str, Any]:
        return self._call("POST", path, fields)

    def patch(self, path: str, /, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", path, fields)


def make() -> tuple[Sender, FakeClient]:
    fake = FakeClient()
    return Sender(fake), fake  # type: ignore[arg-type]


def create(ref: Ref, path: str, **fields: Any) -> Any:
    def call(client: AraClient) -> None:
        ref.id = client.post(path, **{k: v.value if isinstance(v, Ref) else v for k, v in fields.items()})["id"]

    return call


def test_calls_run_in_order_on_one_background_thread() -> None:
    sender, fake = make()
    task, host = Ref(), Ref()
    sender.submit(create(task, "/tasks", name="t"))
    sender.submit(create(host, "/hosts", name="h"))
    for n in range(20):
        sender.submit(create(Ref(), "/results", task=task, host=host, n=n))
    assert sender.flush(timeout=10)
    sender.close()
    assert [path for _, path, _ in fake.calls] == ["/tasks", "/hosts"] + ["/results"] * 20
    assert [fields["n"] for _, path, fields in fake.calls if path == "/results"] == list(range(20))
    assert {fields["task"] for _, path, fields in fake.calls if path == "/results"} == {task.id}
    assert fake.thread_names == {"ara-sender"}
    assert sender.error is None and sender.sent == 22


def test_an_error_answer_skips_what_depends_on_it_and_nothing_else() -> None:
    sender, fake = make()
    fake.fail.add("/tasks")
    task, other_task, host = Ref(), Ref(), Ref()
    sender.submit(create(task, "/tasks", name="broken"))
    sender.submit(create(host, "/hosts", name="h"))
    sender.submit(create(Ref(), "/results", task=task, host=host))  # skipped: its task was never created
    sender.submit(create(other_task, "/other-tasks", name="fine"))
    sender.submit(create(Ref(), "/results", task=other_task, host=host))
    sender.close(timeout=10)
    assert [path for _, path, _ in fake.calls] == ["/hosts", "/other-tasks", "/results"]
    assert task.id is None
    assert "refused" in (sender.error or "") and not sender.stopped


def test_an_unreachable_server_stops_sending_for_good() -> None:
    sender, fake = make()
    sender.submit(create(Ref(), "/a"))
    assert sender.flush(timeout=10)
    fake.down = True
    for path in ("/b", "/c", "/d"):
        sender.submit(create(Ref(), path))
    assert sender.flush(timeout=10)
    fake.down = False
    sender.submit(create(Ref(), "/e"))  # ignored: the server was found down
    sender.close(timeout=10)
    assert [path for _, path, _ in fake.calls] == ["/a"]
    assert sender.stopped and "cannot reach the server" in (sender.error or "")


def test_call_now_runs_on_the_calling_thread_and_reports_failures_alike() -> None:
    sender, fake = make()
    assert sender.call_now(lambda client: client.post("/playbooks", name="p"))["name"] == "p"
    fake.fail.add("/plays")
    try:
        sender.call_now(lambda client: client.post("/plays"))
    except Unresolved:
        pass
    else:
        raise AssertionError("a failed call must raise Unresolved")
    assert fake.thread_names == {threading.current_thread().name}
    assert sender.error is not None


def test_wait_idle_needs_no_lock_and_times_out() -> None:
    sender, fake = make()
    release = threading.Event()
    sender.submit(lambda client: release.wait(5))
    started = time.monotonic()
    assert not sender.wait_idle(timeout=0.2)
    assert time.monotonic() - started < 2
    release.set()
    assert sender.wait_idle(timeout=5)
    sender.stop()
    sender.submit(create(Ref(), "/late"))
    assert fake.calls == []


def test_plugins_reach_the_server_only_through_clients() -> None:
    code = "import sys, ara.plugins.shared, ara.plugins.sender; print('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = set(done.stdout.split())
    assert not {"sqlalchemy", "fastapi", "ara.server", "ara.db", "ara.records"} & loaded
    for source in Path(ara.plugins.__file__).parent.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        for forbidden in ("ara.db", "ara.server", "ara.records", "from ara import db"):
            assert forbidden not in text, f"{source} mentions {forbidden}"
