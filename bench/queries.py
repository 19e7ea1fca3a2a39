"""Query timings at ~40,000 results: the nested detailed playbook and ``results?status=failed``.

The dataset has the shape of ``gen_playbook.py``'s 100 hosts x 100 tasks workload (FAIL_EVERY=10: a failed,
ignored result on one host every tenth task, skipped elsewhere), as ``N / 10,000`` playbooks of 10,000 results,
with result contents like the callback sends. The same payloads are loaded into both servers:

* ours through our API in-process (``AraOfflineClient``: the routes, validation and service layer of
  ``ara server``, one commit per request), then served by ``ara server``;
* upstream's through its own DRF serializers in one transaction (``upstream_load.py``; its HTTP API writes
  about 20 requests/s here), then served by ``ara-manage runserver``.

Each GET is sent once to warm up, then ``repeat`` times over loopback (httpx, a new connection each time); the
median is reported.
Upstream 1.8's playbook detail has no nested plays/tasks/results (ARA dropped that in 1.5): it is timed for
reference and marked as such.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench.run import BENCH, upstream_server
from tests.support.upstream import UpstreamVenv

HOSTS = 100
TASKS = 100
FAIL_EVERY = 10
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def stamp(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).isoformat()


def result_content(task: int, host: str, status: str) -> dict[str, Any]:
    """Roughly what the callback sends for each kind of task of the workload."""
    if status == "skipped":
        return {"changed": False, "skip_reason": "Conditional result was False", "skipped": True}
    if status == "failed":
        return {"changed": True, "cmd": ["/bin/false"], "rc": 1, "msg": "non-zero return code", "stdout": ""}
    if task % 3 == 0:
        return {"msg": f"step {task} on {host}", "_ansible_verbose_always": True, "changed": False}
    if task % 3 == 1:
        return {"ansible_facts": {f"fact_{task}": f"{host}-{task}"}, "changed": False}
    return {"changed": False, "cmd": ["/bin/true"], "rc": 0, "stdout": "", "stderr": "", "delta": "0:00:00.004"}


def dataset(results: int) -> list[dict[str, Any]]:
    """Create operations (``kind``, ``body`` with ``@ref`` links, ``ref`` to name the created object)."""
    operations: list[dict[str, Any]] = []
    playbooks = max(1, round(results / (HOSTS * TASKS)))
    clock = 0.0
    for p in range(playbooks):
        pb = f"pb{p}"
        body = {"ansible_version": "2.19.14", "status": "completed", "path": f"/bench/site-{p}.yml"}
        operations.append({"kind": "playbooks", "ref": pb, "body": {**body, "started": stamp(clock)}})
        operations.append(
            {"kind": "files", "ref": f"{pb}-file", "body": {"playbook": f"@{pb}", "path": body["path"], "content": "x"}}
        )
        play_body = {"playbook": f"@{pb}", "name": "synthetic workload", "uuid": str(uuid.UUID(int=p + 1))}
        operations.append({"kind": "plays", "ref": f"{pb}-play", "body": {**play_body, "status": "completed"}})
        for h in range(HOSTS):
            name = f"h{h:04d}"
            failed_tasks = len(range(FAIL_EVERY, TASKS, FAIL_EVERY)) if h == 0 else 0
            skipped = len(range(FAIL_EVERY, TASKS, FAIL_EVERY)) - failed_tasks
            stats = {"ok": TASKS - failed_tasks - skipped, "skipped": skipped, "failed": 0, "changed": 0}
            operations.append(
                {"kind": "hosts", "ref": f"{pb}-{name}", "body": {"playbook": f"@{pb}", "name": name, **stats}}
            )
        for t in range(TASKS):
            task = f"{pb}-t{t}"
            failing = t and t % FAIL_EVERY == 0
            action = "command" if failing or t % 3 == 2 else ("debug" if t % 3 == 0 else "set_fact")
            task_body = {
                "playbook": f"@{pb}",
                "play": f"@{pb}-play",
                "file": f"@{pb}-file",
                "name": f"task {t}",
                "action": action,
                "lineno": 5 + 3 * t,
                "handler": False,
                "status": "completed",
                "uuid": str(uuid.UUID(int=(p + 1) * 1_000_000 + t)),
                "started": stamp(clock),
                "ended": stamp(clock + 1),
            }
            operations.append({"kind": "tasks", "ref": task, "body": task_body})
            for h in range(HOSTS):
                name = f"h{h:04d}"
                status = ("failed" if h == 0 else "skipped") if failing else "ok"
                result = {
                    "playbook": f"@{pb}",
                    "play": f"@{pb}-play",
                    "task": f"@{task}",
                    "host": f"@{pb}-{name}",
                    "status": status,
                    "changed": status == "failed",
                    "ignore_errors": status == "failed",
                    "started": stamp(clock + h * 0.01),
                    "ended": stamp(clock + h * 0.01 + 0.005),
                    "content": result_content(t, name, status),
                }
                operations.append({"kind": "results", "body": result})
            clock += 1
    return operations


def load_ours(operations: list[dict[str, Any]], base_dir: Path) -> dict[str, int]:
    from ara.clients.offline import AraOfflineClient
    from ara.settings import Settings

    ids: dict[str, int] = {}

    def resolve(value: Any) -> Any:
        return ids[value[1:]] if isinstance(value, str) and value.startswith("@") else value

    client = AraOfflineClient(settings=Settings(base_dir=base_dir))
    try:
        for operation in operations:
            created = client.post(
                f"/api/v1/{operation['kind']}", **{k: resolve(v) for k, v in operation["body"].items()}
            )
            if operation.get("ref"):
                ids[operation["ref"]] = created["id"]
    finally:
        client.close()
    return ids


def load_upstream(operations: list[dict[str, Any]], venv: UpstreamVenv, base_dir: Path) -> dict[str, int]:
    path = base_dir / "dataset.json"
    path.write_text(json.dumps(operations))
    env = venv.environ(ARA_BASE_DIR=str(base_dir))
    migrate = subprocess.run([str(venv.bin("ara-manage")), "migrate"], env=env, capture_output=True, cwd=base_dir)
    if migrate.returncode != 0:
        raise SystemExit(migrate.stderr.decode())
    loader = [str(venv.python), str(BENCH / "upstream_load.py"), str(path)]
    done = subprocess.run(loader, env=env, capture_output=True, text=True, cwd=base_dir)
    if done.returncode != 0:
        raise SystemExit(f"upstream_load.py failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def time_get(url: str, path: str, params: dict[str, Any], repeat: int) -> dict[str, Any]:
    # A new connection per request: Django's runserver answers keep-alive requests ~40 ms late here (its headers
    # and body leave in separate writes: Nagle against delayed ACK), which would be unfair to upstream.
    with httpx.Client(base_url=url, timeout=600, headers={"Connection": "close"}) as client:
        first = client.get(path, params=params)
        first.raise_for_status()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path, params=params)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    body = first.json()
    return {
        "path": path,
        "params": params,
        "seconds": statistics.median(times),
        "runs": times,
        "bytes": len(first.content),
        "count": body.get("count"),
    }


def count_results(url: str) -> int:
    return int(httpx.get(url + "/api/v1/results", params={"limit": 1}, timeout=120).json()["count"])


def run_queries(results: int, scratch: Path, upstream: UpstreamVenv | None, repeat: int = 5) -> dict[str, Any]:
    """Loads the dataset into both servers, times the GETs, prints a table; returns the figures."""
    from bench.run import ours_server

    operations = dataset(results)
    report: dict[str, Any] = {"results": sum(op["kind"] == "results" for op in operations)}
    print(f"\nqueries at {report['results']} results (median of {repeat} GETs over loopback)")
    ours_dir = Path(tempfile.mkdtemp(prefix="queries-ours-", dir=scratch))
    started = time.perf_counter()
    ids = load_ours(operations, ours_dir)
    report["ours_load_seconds"] = time.perf_counter() - started
    last = ids[f"pb{max(1, round(results / (HOSTS * TASKS))) - 1}"]
    with ours_server(ours_dir) as url:
        assert count_results(url) == report["results"]
        report["ours"] = {
            "playbook_nested": time_get(url, f"/api/v1/playbooks/{last}", {}, repeat),
            "results_failed": time_get(url, "/api/v1/results", {"status": "failed"}, repeat),
        }
        nested = httpx.get(f"{url}/api/v1/playbooks/{last}", timeout=120).json()
        report["ours"]["playbook_nested"]["nested_results"] = sum(
            len(task["results"]) for play in nested["plays"] for task in play["tasks"]
        )
    if upstream is not None:
        upstream_dir = Path(tempfile.mkdtemp(prefix="queries-upstream-", dir=scratch))
        started = time.perf_counter()
        ids = load_upstream(operations, upstream, upstream_dir)
        report["upstream_load_seconds"] = time.perf_counter() - started
        last = ids[f"pb{max(1, round(results / (HOSTS * TASKS))) - 1}"]
        with upstream_server(upstream, upstream_dir) as url:
            assert count_results(url) == report["results"]
            report["upstream"] = {
                "playbook_flat": time_get(url, f"/api/v1/playbooks/{last}", {}, repeat),
                "results_failed": time_get(url, "/api/v1/results", {"status": "failed"}, repeat),
            }
    print_queries(report)
    return report


def print_queries(report: dict[str, Any]) -> None:
    print(f"{'server':<10}{'GET':<44}{'seconds':>9}{'bytes':>11}  rows")
    labels = {
        "playbook_nested": "/api/v1/playbooks/<id> (nested, all results)",
        "playbook_flat": "/api/v1/playbooks/<id> (1.8: not nested)",
        "results_failed": "/api/v1/results?status=failed",
    }
    for server in ("ours", "upstream"):
        for key, timing in report.get(server, {}).items():
            rows = timing.get("nested_results", timing.get("count"))
            print(f"{server:<10}{labels[key]:<44}{timing['seconds']:>9.4f}{timing['bytes']:>11}  {rows}")
    if "ours" in report and "upstream" in report:
        ratio = report["upstream"]["results_failed"]["seconds"] / report["ours"]["results_failed"]["seconds"]
        print(f"results?status=failed: ours is {ratio:.1f}x faster than upstream's")
    print(f"load: ours {report['ours_load_seconds']:.1f} s (API in-process)", end="")
    if "upstream_load_seconds" in report:
        print(f", upstream {report['upstream_load_seconds']:.1f} s (serializers, one transaction)")
    else:
        print()
