#!/usr/bin/env python3
"""Benchmark: playbook runs on each engine, against spawning the same process bare, in one run.

Modes (each a fresh database and real processes on 127.0.0.1):
  embedded   ``ara server`` on SQLite with its in-process executor (the default install);
  postgres   ``ara server`` on PostgreSQL with ``ARA_ENGINE__WORKERS=0`` (API only) and one external
             ``ara worker`` process that executes every run (procrastinate);
  bare       the action's own process (bash running the action's script file) spawned directly, with as many
             threads as the engines have: its start latency measured just before and just after each engine's
             samples, its spawns/s just before and just after each of the engine's throughput windows (the engine
             is up and idle meanwhile: bare, engine, bare, engine, ..., bare), so both sides of a ratio see the
             machine in the same state (a shared machine's speed drifts within seconds); the median of the windows'
             ratios is reported.

For each engine it reports:
  * trigger-to-start latency: POST /playbook/run until the action's process has started (it prints
    ``time.time()``), median and p95, against the bare spawn's median;
  * throughput: trivial exec runs completed per second with ``--runs`` submitted at once, against bare spawns/s, in
    ``--windows`` windows: from just before the first POST until the last run's ``end_time`` (the server's clock; a
    poll every second notices the end, so the poll's period is not measured, and its load on the server little);
  * the CPU of the Ara processes per throughput run, and the bench client's own (it shares the machine's cores: a
    plain ``http.client`` connection per thread keeps it small; ``httpx`` cost it 2-2.5 ms a run here).
The issue's targets are printed beside the figures: external worker median latency <= 150 ms, embedded runs/s
>= 0.8x bare.

Usage: python3 bench/playbook_runs.py [--modes embedded,postgres] [--runs 100] [--windows 5]
                                      [--latency-samples 30] [--workers 4] [--postgres URL]
``--postgres`` (default ``$ARA_TEST_POSTGRES_URL``) names a PostgreSQL server where a throwaway database is
created and dropped; without one the postgres mode is skipped with a message.
Not a test: it prints figures and ratios, writes bench/out/playbook_runs.json, and asserts only that every run
completed.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

SCRIPT = 'python3 -c "import time; print(time.time())"'
# The wire values (this script imports no ara, so that it measures ``ara`` processes only).
FINISHED = ("completed", "failed", "cancelled", "timed_out")
UNFINISHED = ("scheduled", "pending_approval", "running", "waiting", "sleeping", "retrying")
TARGET_EXTERNAL_MEDIAN_MS = 150
TARGET_EMBEDDED_OF_BARE = 0.8
ADMIN = ("admin@local", "admin")  # created by ``ara server`` on loopback


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ara_env(base: Path, **extra: str) -> dict[str, str]:
    """A clean environment for our processes: no caller ARA_* settings, and this checkout's ``ara``."""
    import ara

    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    env["PYTHONPATH"] = str(Path(ara.__file__).resolve().parents[1])
    return {**env, "ARA_BASE_DIR": str(base), **extra}


def ara_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from ara.cli.main import main; main()", *args]


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def fail(message: str, *logs: Path) -> SystemExit:
    tails = "".join(f"\n--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists())
    return SystemExit(message + tails)


def _answers(port: int) -> bool:
    """Whether the server on ``port`` answers ``/healthcheck`` (yet) without a server error."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/healthcheck")
        return connection.getresponse().status < 500
    except OSError:  # refused, reset or timed out while it starts
        return False
    finally:
        connection.close()


@contextmanager
def ara_server(base: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    log = base / "server.log"
    with process(ara_command("server", "--port", str(port)), env, log) as proc:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if _answers(port):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise fail("ara server did not start", log)
            time.sleep(0.1)
        yield url, proc.pid


@dataclass
class Engine:
    url: str
    pids: list[int]  # the Ara processes doing the work (server, worker): their CPU time is reported per run


@contextmanager
def embedded(base: Path, workers: int, _postgres: str) -> Iterator[Engine]:
    with ara_server(base, ara_env(base, ARA_ENGINE__WORKERS=str(workers))) as (url, pid):
        yield Engine(url, [pid])


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A throwaway database on ``server_url``'s PostgreSQL, dropped afterwards."""
    import psycopg

    name = "ara_bench_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres(base: Path, workers: int, server_url: str) -> Iterator[Engine]:
    """An API-only server and one external worker sharing the database, the secret key and the artifact store."""
    with fresh_postgres(server_url) as database:
        shared = {"ARA_DATABASE__URL": database, "ARA_SECRET_KEY": secrets_key()}
        with ara_server(base, ara_env(base, ARA_ENGINE__WORKERS="0", **shared)) as (url, pid):
            log = base / "worker.log"
            command = ara_command("worker", "--queue", "runs", "--concurrency", str(workers))
            with process(command, ara_env(base, **shared), log) as worker:
                time.sleep(0.5)
                if worker.poll() is not None:
                    raise fail(f"ara worker exited with code {worker.returncode}", log)
                yield Engine(url, [pid, worker.pid])


def secrets_key() -> str:
    """A Fernet key (32 random bytes, urlsafe base64), the form ``ARA_SECRET_KEY`` takes."""
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


MODES = {"embedded": embedded, "postgres": postgres}


class Api:
    """A JSON client for the bench: one kept-alive ``http.client`` connection per thread. The client runs on the
    machine it measures, so it should cost as little CPU as it can (``httpx`` cost 3-5x as much per request)."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}
        self.local = threading.local()
        self.connections: list[http.client.HTTPConnection] = []

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = self.local.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.connections.append(connection)
        return connection

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> tuple[int, Any]:
        if params:
            path += "?" + urlencode(params, doseq=True)
        payload = json.dumps(body) if body is not None else None
        connection = self._connection()
        connection.request(method, path, body=payload, headers=self.headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def get(self, path: str, **params: Any) -> Any:
        status, data = self.call("GET", path, params=params)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {data}")
        return data

    def post(self, path: str, body: Any, expect: int = 201) -> Any:
        status, data = self.call("POST", path, body)
        if status != expect:
            raise SystemExit(f"POST {path} answered {status}: {data}")
        return data

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


def wait_done(api: Api, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.get(f"/playbook/run/{run_id}")
        if run["status"] in FINISHED:
            return run
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} still {run['status']} after {timeout:g}s")
        time.sleep(0.02)


@dataclass
class Window:
    """One throughput window of the engine and the bare spawns/s around it (the mean of the bare windows just
    before and just after it)."""

    runs_per_s: float
    bare_runs_per_s: float
    cpu_ms_per_run: float
    client_cpu_ms_per_run: float

    @property
    def ratio(self) -> float:
        return self.runs_per_s / self.bare_runs_per_s


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` themselves (Linux), without their children's (the actions')."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure(
    engine: Engine, runs: int, samples: int, windows: int, reference: Callable[[], float]
) -> tuple[list[float], list[Window]]:
    """The engine's trigger-to-start latencies (seconds), and ``windows`` throughput windows, each bracketed by
    ``reference()`` (bare spawns/s) right before and right after it: bare, engine, bare, engine, ..., bare."""
    api = Api(engine.url, ADMIN)
    try:
        spec = {"name": "trivial", "spec": {"actions": [{"name": "stamp", "exec": {"script": SCRIPT}}]}}
        playbook_id = api.post("/playbook", spec)["id"]
        for _ in range(2):  # warm up (and, on PostgreSQL, wait until the worker takes jobs)
            warm = wait_done(api, api.post("/playbook/run", {"id": playbook_id})["run_id"])
            if warm["status"] != "completed":
                raise SystemExit(f"warm-up run ended {warm['status']}: {warm.get('error')}")

        latencies = []
        for _ in range(samples):
            t0 = time.time()
            run_id = api.post("/playbook/run", {"id": playbook_id})["run_id"]
            wait_done(api, run_id)
            action = api.get(f"/playbook/run/{run_id}/status")["actions"][0]
            latencies.append(float(action["result"]["stdout"]) - t0)

        results = []
        before = reference()
        for number in range(windows):
            rate, cpu, client = throughput(api, engine, spec, f"trivial-batch-{number}", runs)
            after = reference()
            results.append(Window(rate, (before + after) / 2, cpu, client))
            before = after
    finally:
        api.close()
    return latencies, results


def throughput(api: Api, engine: Engine, spec: dict[str, Any], name: str, runs: int) -> tuple[float, float, float]:
    """Runs/s of ``runs`` runs of a playbook of their own submitted from 8 threads, from just before the first POST
    to the last run's end time (the server's clock; a list query every second notices the end); and the Ara
    processes' and the bench client's CPU (ms) per run meanwhile."""
    batch_id = api.post("/playbook", {**spec, "name": name})["id"]
    t0, cpu0, client0 = time.time(), cpu_seconds(engine.pids), time.process_time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: api.post("/playbook/run", {"id": batch_id}), range(runs)))
    deadline = time.monotonic() + 600
    while api.get("/playbook/runs", playbook_id=batch_id, status=UNFINISHED, limit=1):
        if time.monotonic() > deadline:
            raise SystemExit("runs still unfinished after 600 s")
        time.sleep(1.0)  # the list query costs the server 1-4 ms a time: it shares the cores it measures
    cpu, client = cpu_seconds(engine.pids) - cpu0, time.process_time() - client0
    found = [run for at in range(0, runs, 500) for run in api.get("/playbook/runs", playbook_id=batch_id, offset=at)]
    statuses = {run["status"] for run in found}
    if len(found) != runs or statuses != {"completed"}:
        raise SystemExit(f"not every run completed: {len(found)} runs, {sorted(statuses)}")
    elapsed = max(dt.datetime.fromisoformat(run["end_time"]).timestamp() for run in found) - t0
    return runs / elapsed, cpu / runs * 1000, client / runs * 1000


def bare_command(base: Path) -> list[str]:
    """The process an ``exec`` action of ``SCRIPT`` spawns: bash running the script from a file (not ``bash -c``,
    which would spare it a fork: bash runs a ``-c`` string's one command in its own process). The file is written
    once here; writing it is the engine's work."""
    script = base / "script"
    script.write_text(SCRIPT)
    return ["bash", str(script)]


def bare_latencies(command: list[str], samples: int) -> list[float]:
    """The action's process spawned directly, one at a time: seconds from the call to its first statement."""
    latencies = []
    for _ in range(samples):
        t0 = time.time()
        printed = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        latencies.append(float(printed) - t0)
    return latencies


def bare_rate(command: list[str], count: int, workers: int) -> float:
    """The action's process spawned directly ``count`` times on ``workers`` threads: spawns per second."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: subprocess.run(command, capture_output=True, check=True), range(count)))
    return count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="embedded,postgres", help="comma-separated: embedded, postgres")
    parser.add_argument("--runs", type=int, default=100, help="runs per throughput window (and bare spawns per window)")
    parser.add_argument("--windows", type=int, default=5, help="throughput windows per mode (the median ratio counts)")
    parser.add_argument("--latency-samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4, help="executor threads (server or worker concurrency)")
    parser.add_argument("--postgres", default=os.environ.get("ARA_TEST_POSTGRES_URL", ""))
    args = parser.parse_args()
    for name in ("runs", "windows", "latency_samples", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"--modes: unknown mode(s) {', '.join(sorted(unknown))} (known: {', '.join(MODES)})")
    if "postgres" in modes and not args.postgres:
        print("postgres mode skipped: give --postgres URL or set ARA_TEST_POSTGRES_URL")
        modes.remove("postgres")

    # Bare measurements bracket each engine measurement (latency: before and after the engine's samples; throughput:
    # right before and right after each window), and the median of the windows' ratios is reported: a shared
    # machine's speed drifts within seconds, and short alternating windows see it alike on both sides.
    summary: dict[str, dict[str, Any]] = {}
    for mode in modes:
        with ExitStack() as stack:
            base = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"ara-bench-{mode}-")))
            command = bare_command(base)
            bare = bare_latencies(command, args.latency_samples)
            engine = stack.enter_context(MODES[mode](base, args.workers, args.postgres))
            reference = functools.partial(bare_rate, command, args.runs, args.workers)
            latencies, windows = measure(engine, args.runs, args.latency_samples, args.windows, reference)
            bare += bare_latencies(command, args.latency_samples)
        med = statistics.median
        row: dict[str, Any] = {
            "latency_median_ms": med(latencies) * 1000,
            "latency_p95_ms": p95(latencies) * 1000,
            "bare_latency_median_ms": med(bare) * 1000,
            "runs_per_s": med(w.runs_per_s for w in windows),
            "bare_runs_per_s": med(w.bare_runs_per_s for w in windows),
            "runs_per_s_of_bare": med(w.ratio for w in windows),
            "cpu_ms_per_run": med(w.cpu_ms_per_run for w in windows),
            "client_cpu_ms_per_run": med(w.client_cpu_ms_per_run for w in windows),
            "windows": [{**asdict(w), "ratio": w.ratio} for w in windows],
        }
        row["latency_x_bare"] = row["latency_median_ms"] / row["bare_latency_median_ms"]
        summary[mode] = row
        spread = ", ".join(f"{w.ratio:.2f}" for w in windows)
        print(
            f"{mode}: trigger-to-start median {row['latency_median_ms']:.1f} ms (p95 {row['latency_p95_ms']:.1f} ms), "
            f"bare spawn {row['bare_latency_median_ms']:.1f} ms -> {row['latency_x_bare']:.1f}x; "
            f"{row['runs_per_s']:.1f} runs/s, bare {row['bare_runs_per_s']:.1f}/s -> "
            f"{row['runs_per_s_of_bare']:.2f}x of bare (windows in order: {spread}); "
            f"Ara's own CPU {row['cpu_ms_per_run']:.1f} ms per run, the bench client's "
            f"{row['client_cpu_ms_per_run']:.1f} ({args.runs} runs a window, {args.workers} threads)"
        )
    if "postgres" in summary:
        median = summary["postgres"]["latency_median_ms"]
        verdict = "met" if median <= TARGET_EXTERNAL_MEDIAN_MS else "MISSED"
        print(f"target: external worker median <= {TARGET_EXTERNAL_MEDIAN_MS} ms: {verdict} ({median:.1f} ms)")
    if "embedded" in summary:
        ratio = summary["embedded"]["runs_per_s_of_bare"]
        verdict = "met" if ratio >= TARGET_EMBEDDED_OF_BARE else "MISSED"
        print(f"target: embedded runs/s >= {TARGET_EMBEDDED_OF_BARE}x bare: {verdict} ({ratio:.3f}x)")

    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    payload = {
        "summary": summary,
        "runs_per_window": args.runs,
        "latency_samples": args.latency_samples,
        "workers": args.workers,
    }
    (out / "playbook_runs.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
