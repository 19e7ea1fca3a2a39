#!/usr/bin/env python3
"""Benchmark: playbook runs on the embedded default (SQLite, in-process workers).

Measures, in one run, against spawning the same process bare:
  * trigger-to-start latency: POST /playbook/run until the action's process starts (it writes a timestamp);
  * throughput: trivial exec runs completed per second with N submitted at once.

Usage: python3 bench/playbook_runs.py [--runs 200] [--latency-samples 30] [--workers 4]
Not a test: it prints figures and ratios, and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

SCRIPT = 'python3 -c "import time; print(time.time())"'


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(base: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "ARA_BASE_DIR": str(base), "ARA_ENGINE__WORKERS": str(workers)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ara.cli.main import main; main()", "server", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/healthcheck", timeout=1)
            return proc, url
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("server did not start") from None
            time.sleep(0.1)


def bare_spawn(samples: int) -> list[float]:
    """Seconds from 'about to spawn' to the process having started (it prints time.time())."""
    out = []
    for _ in range(samples):
        t0 = time.time()
        printed = subprocess.run(["bash", "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
        out.append(float(printed) - t0)
    return out


def bare_throughput(count: int, workers: int) -> float:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: subprocess.run(["bash", "-c", SCRIPT], capture_output=True, check=True), range(count)))
    return count / (time.perf_counter() - t0)


def wait_done(http: httpx.Client, run_id: str) -> dict:
    while True:
        run = http.get(f"/playbook/run/{run_id}").json()
        if run["status"] in ("completed", "failed", "cancelled", "timed_out"):
            return run
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--latency-samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ara-bench-runs-") as tmp:
        server, url = start_server(Path(tmp), args.workers)
        try:
            with httpx.Client(base_url=url, auth=("admin@local", "admin"), timeout=60) as http:
                spec = {"name": "trivial", "spec": {"actions": [{"name": "stamp", "exec": {"script": SCRIPT}}]}}
                playbook_id = http.post("/playbook", json=spec).json()["id"]
                wait_done(http, http.post("/playbook/run", json={"id": playbook_id}).json()["run_id"])  # warm up

                latencies = []
                for _ in range(args.latency_samples):
                    t0 = time.time()
                    run_id = http.post("/playbook/run", json={"id": playbook_id}).json()["run_id"]
                    wait_done(http, run_id)
                    action = http.get(f"/playbook/run/{run_id}/status").json()["actions"][0]
                    latencies.append(float(action["result"]["stdout"]) - t0)

                t0 = time.perf_counter()
                ids = [http.post("/playbook/run", json={"id": playbook_id}).json()["run_id"] for _ in range(args.runs)]
                statuses = [wait_done(http, run_id)["status"] for run_id in ids]
                elapsed = time.perf_counter() - t0
                assert set(statuses) == {"completed"}, statuses
        finally:
            server.terminate()
            server.wait(timeout=30)

    bare = bare_spawn(args.latency_samples)
    bare_rate = bare_throughput(args.runs, args.workers)
    ara_rate = args.runs / elapsed
    figures = {
        "latency_ms": {
            "ara_median": statistics.median(latencies) * 1000,
            "ara_p95": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
            "bare_spawn_median": statistics.median(bare) * 1000,
        },
        "throughput_runs_per_s": {"ara": ara_rate, "bare_spawn": bare_rate},
        "runs": args.runs,
        "workers": args.workers,
    }
    lat = figures["latency_ms"]
    print(
        f"trigger-to-start latency: ara median {lat['ara_median']:.1f} ms (p95 {lat['ara_p95']:.1f} ms), "
        f"bare spawn median {lat['bare_spawn_median']:.1f} ms -> {lat['ara_median'] / lat['bare_spawn_median']:.1f}x"
    )
    print(
        f"trivial exec runs/s ({args.runs} runs, {args.workers} workers): ara {ara_rate:.1f}/s, "
        f"bare spawn {bare_rate:.1f}/s -> ara reaches {ara_rate / bare_rate:.1%} of bare"
    )
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "playbook_runs.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
