#!/usr/bin/env python3
"""Benchmark: what an app run adds to the model call it wraps, and how many runs the agent queue carries, measured
against the scripted model's own latency in the same run (tests/support/fake_llm.py answering every request after
a fixed ``--latency``).

  deploy     deploy-to-first-answer: ``POST /apps`` + ``POST /apps/{id}/keys`` + the first sync run's answer
             (the first run prepares the agent's workspace);
  sync run   ``POST /v1/apps/{id}/run`` (prompt function in the sandbox, one model call, the records playbook, the
             log rows, the engine's queue and the poll for the end) against the same request sent straight to the
             model: the difference is the overhead;
  runs/s     ``--runs`` async runs posted at once, until the log stream said ``run.completed`` for every one,
             through the ``agents`` queue; beside it the model's own bound (slots / latency).

On SQLite a real ``ara server`` process executes runs in-process (``ARA_ENGINE__WORKERS`` slots); on PostgreSQL
(``ARA_TEST_POSTGRES_URL``, a fresh database) an API-only server and one external ``ara worker`` with as many
slots. Usage: python3 bench/apps.py [--runs 40] [--latency 0.05] [--slots 4] [--databases sqlite,postgresql]
Not a test: it prints figures and writes bench/out/apps.json; it asserts only that every run completed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's ara, whatever is installed
sys.path.insert(1, str(ROOT))  # tests.support: the real server and worker processes, users, the scripted model

from tests.support.databases import fresh_postgres_database  # noqa: E402
from tests.support.fake_llm import fixed_latency_model  # noqa: E402
from tests.support.runtime_users import seed_runtime_users  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402
from tests.support.workers import WorkerProcess  # noqa: E402

from ara.settings import Settings  # noqa: E402

KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="
PROMPT = "def bench(input: dict) -> str:\n    return 'Answer ' + str(input.get('message', ''))"


def manifest() -> dict[str, Any]:
    """One agent, a prompt function, no tools: what every run pays for, and nothing else."""
    agent = {
        "id": "bench",
        "task": "bench",
        "instructions": "bench",
        "persona": "bench",
        "schedules": [],
        "handoff_to": [],
        "always_on": True,
        "entrypoint": True,
        "skills": [],
        "prompt_factory": {
            "function_name": "bench",
            "source": PROMPT,
            "parameters": {"type": "object", "properties": {"input": {"type": "object"}}, "required": ["input"]},
        },
    }
    return {
        "name": "bench-app",
        "slug": "bench-app",
        "description": "",
        "agent": {"agents": [agent], "tools": [], "default_agent_id": "bench"},
        "workflows": [],
        "interfaces": {},
        "runtime_profile": {"model": "openai/bench", "env": {}, "secret_refs": []},
    }


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered), "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)]}


@contextmanager
def serving(database: str, model_url: str, slots: int) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server (and, on PostgreSQL, one ``ara worker``) talking to the scripted model; yields its URL and a
    user's headers."""
    model_env = {"OPENAI_BASE_URL": model_url, "OPENAI_API_KEY": "bench"}
    with ExitStack() as stack:
        base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ara-bench-apps-")))
        if database == "postgresql":
            url = stack.enter_context(fresh_postgres_database())
            settings = Settings(base_dir=base / "api", database={"url": url}, secret_key=KEY)
        else:
            settings = Settings(base_dir=base / "api")
        user = seed_runtime_users(settings, "bench@example.org")["bench@example.org"]
        env = {**model_env, "ARA_ENGINE__WORKERS": str(slots), "ARA_SECRET_KEY": KEY}
        if database == "postgresql":
            env["ARA_ENGINE__WORKERS"] = "0"  # API only: the worker executes
        server = stack.enter_context(ServerProcess(settings, env=env).start())
        if database == "postgresql":
            worker = WorkerProcess(settings, base / "worker", "--concurrency", str(slots), **model_env)
            stack.callback(worker.kill)
            worker.wait_registered(1 + 3)  # the server's clock; the worker's clock, runs and agents
        yield server.url, {**user.headers, "Content-Type": "application/json"}


def deploy(http: httpx.Client, headers: dict[str, str]) -> tuple[str, dict[str, str], float]:
    """Deploy, mint a key, first sync answer: the app id, the key's headers, the seconds it all took."""
    started = time.perf_counter()
    created = http.post("/apps", headers=headers, json={**manifest(), "status": "active"})
    assert created.status_code == 201, created.text
    app_id = created.json()["app"]["id"]
    key = http.post(f"/apps/{app_id}/keys", headers=headers, json={"name": "bench", "requests_per_minute": 100_000})
    assert key.status_code < 300, key.text
    invoke = {"Authorization": f"Bearer {key.json()['key']}", "Content-Type": "application/json"}
    first = http.post(f"/v1/apps/{app_id}/run", headers=invoke, json={"input": {"message": "first"}})
    assert first.status_code == 200 and first.json()["status"] == "completed", first.text
    return app_id, invoke, time.perf_counter() - started


def throughput(url: str, app_id: str, invoke: dict[str, str], runs: int) -> float:
    """Seconds from the first of ``runs`` async posts until the log stream has said ``run.completed`` for each
    (the stream, not status polls, so the measurement adds no requests while the runs execute)."""
    ids = {f"tp-{i}-{time.monotonic_ns()}" for i in range(runs)}
    done: set[str] = set()
    listening, finished = threading.Event(), threading.Event()

    def listen() -> None:
        headers = {"Authorization": invoke["Authorization"]}
        with httpx.stream("GET", f"{url}/v1/apps/{app_id}/logs/stream", headers=headers, timeout=120) as answer:
            listening.set()
            for line in answer.iter_lines():
                if not line.startswith("data: "):
                    continue
                row = json.loads(line[6:])
                assert row["event_type"] != "run.failed" or row["run_id"] not in ids, row
                if row["event_type"] == "run.completed" and row["run_id"] in ids:
                    done.add(row["run_id"])
                    if done == ids:
                        finished.set()
                        return

    threading.Thread(target=listen, daemon=True).start()
    assert listening.wait(60)
    with httpx.Client(base_url=url, headers=invoke, timeout=120) as http:
        began = time.perf_counter()
        for run_id in ids:
            answer = http.post(f"/v1/apps/{app_id}/runs", json={"run_id": run_id, "input": {"message": run_id}})
            assert answer.status_code == 202, answer.text
        assert finished.wait(600), f"{len(done)} of {runs} runs completed"
        return time.perf_counter() - began


def bench_database(database: str, runs: int, latency: float, slots: int) -> dict[str, Any]:
    with (
        fixed_latency_model(latency) as model,
        serving(database, model.url, slots) as (url, headers),
        httpx.Client(base_url=url, timeout=120) as http,
        httpx.Client(base_url=model.url, headers={"Authorization": "Bearer bench"}, timeout=60) as direct,
    ):
        app_id, invoke, deploy_seconds = deploy(http, headers)
        request = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        model_ms, run_ms = [], []
        for i in range(runs):  # alternate which goes first, so load from elsewhere hits both alike
            for side in (0, 1) if i % 2 == 0 else (1, 0):
                began = time.perf_counter()
                if side == 0:
                    with direct.stream("POST", "/chat/completions", json=request) as answer:
                        assert answer.status_code == 200 and b"[DONE]" in answer.read()
                    model_ms.append((time.perf_counter() - began) * 1000)
                else:
                    answer = http.post(f"/v1/apps/{app_id}/run", headers=invoke, json={"input": {"message": str(i)}})
                    assert answer.status_code == 200 and answer.json()["status"] == "completed", answer.text
                    run_ms.append((time.perf_counter() - began) * 1000)
        elapsed = throughput(url, app_id, invoke, runs)
    model, run = stats(model_ms), stats(run_ms)
    return {
        "deploy_to_first_answer_s": deploy_seconds,
        "model": model,
        "sync_run": run,
        "added_ms": run["median_ms"] - model["median_ms"],
        "runs_per_second": runs / elapsed,
        "model_bound_runs_per_second": slots / latency,
        "runs": runs,
        "slots": slots,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.05, help="the scripted model's seconds per answer")
    parser.add_argument("--slots", type=int, default=4, help="runs executed at once (server slots or --concurrency)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.runs < 1 or args.slots < 1 or args.latency <= 0:
        parser.error("--runs and --slots must be at least 1, --latency above 0")
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--databases: unknown {', '.join(sorted(unknown))} (known: sqlite, postgresql)")
    results: dict[str, Any] = {"latency_s": args.latency, "loadavg_before": os.getloadavg()}
    for database in databases:
        if database == "postgresql" and not os.environ.get("ARA_TEST_POSTGRES_URL"):
            print("postgresql skipped: set ARA_TEST_POSTGRES_URL")
            continue
        row = bench_database(database, args.runs, args.latency, args.slots)
        results[database] = row
        m, r = row["model"], row["sync_run"]
        share = row["runs_per_second"] / row["model_bound_runs_per_second"]
        print(
            f"{database}: deploy to first answer {row['deploy_to_first_answer_s']:.2f} s; sync run median "
            f"{r['median_ms']:.1f} ms (p95 {r['p95_ms']:.1f}) vs the model alone {m['median_ms']:.1f} ms "
            f"(p95 {m['p95_ms']:.1f}) -> +{row['added_ms']:.1f} ms, {r['median_ms'] / m['median_ms']:.1f}x; "
            f"{row['runs_per_second']:.1f} runs/s through the agents queue ({args.slots} slots; the model's bound "
            f"{row['model_bound_runs_per_second']:.0f}/s: {share:.0%})"
        )
    results["loadavg_after"] = os.getloadavg()
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    (out / "apps.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
