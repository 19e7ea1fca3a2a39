#!/usr/bin/env python3
"""Benchmark: what recording costs an Ansible run, ours against upstream ARA 1.8, in one run of this script.

For each workload of ``bench/gen_playbook.py`` (26 hosts x 52 tasks and 100 x 100 by default) it times
``ansible-playbook`` wall clock, with the same forks, for:

  plain            no callback (the baseline)
  ours-http        our ara_default callback, http client, against ``ara server`` on a fresh SQLite database
  ours-http-nospool the same with its spool disabled (``ARA_SPOOL_ENABLED=false``): the spool's cost when the
                   server is up is the difference between the two
  ours-offline     our callback, offline client, fresh SQLite database
  upstream-http    ARA 1.8.0 (``ara[server]`` from PyPI in its own virtualenv): ``ara-manage runserver`` on a fresh
                   SQLite database and its callback over http (the reference)
  upstream-offline ARA 1.8.0's callback with its offline client (optional, ``--variants``)

Variants take turns within each repetition (so drift on this 2-core machine hits all alike), each recording
is checked (every result stored, playbook finished), and the median (or ``--stat min``) of ``--repeat`` runs
is reported with its overhead over plain, ``(t - plain) / plain``, and over upstream's overhead.
After each workload's runs, the replay measurement records the workload once with the server down (everything
goes to the spool), starts ``ara server`` and times ``ara.clients.spool.replay_directory``: results/s replayed
(``--skip-replay`` leaves it out).
First ``bench/queries.py`` times the nested playbook detail and ``results?status=failed`` at 40,000 results.

Usage: python3 bench/run.py [--quick] [--sizes 26x52,100x100] [--repeat 3] [--repeat-large 1] [--forks 5]
                            [--variants ...] [--stat median|min] [--skip-queries] [--query-results 40000]
                            [--skip-replay]
Not a test: it prints a table and writes JSON to bench/out/; it asserts only that recordings are complete.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # tests.support.upstream builds and caches the upstream virtualenv

from tests.support.upstream import SERVER_REQUIREMENTS, UpstreamVenv, clean_environ, ensure_venv  # noqa: E402

VARIANTS = ("plain", "ours-http", "ours-http-nospool", "ours-offline", "upstream-http", "upstream-offline")
DEFAULT_VARIANTS = ("plain", "ours-http", "ours-http-nospool", "ours-offline", "upstream-http")
OURS = ("ours-http", "ours-http-nospool", "ours-offline")
TARGET_OF_PLAIN = 0.15
TARGET_OF_UPSTREAM = 1 / 3
# Above this many results a run takes minutes (100x100 about 8 min bare here): --repeat-large applies.
LARGE = 5_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/api/v1/playbooks", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server at {url} did not start (exit code {process.poll()})")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def ours_server(base_dir: Path, port: int | None = None) -> Iterator[str]:
    """``ara server`` (uvicorn, one process) on 127.0.0.1 with a fresh SQLite database under ``base_dir``."""
    port = port or free_port()
    env = ours_env({**clean_ara_env(), "ARA_BASE_DIR": str(base_dir)})
    command = [sys.executable, "-c", "from ara.cli.main import main; main()", "server", "--port", str(port)]
    log = open(base_dir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url, process)
        yield url
    finally:
        stop(process)
        log.close()


@contextmanager
def upstream_server(venv: UpstreamVenv, base_dir: Path) -> Iterator[str]:
    """ARA 1.8's documented quick start, ``ara-manage migrate`` then ``ara-manage runserver`` (threaded Django);
    ``--noreload`` spares it the file-watching reloader's CPU."""
    port = free_port()
    env = venv.environ(clean_ara_env(), ARA_BASE_DIR=str(base_dir))
    migrate = subprocess.run([str(venv.bin("ara-manage")), "migrate"], env=env, capture_output=True, cwd=base_dir)
    if migrate.returncode != 0:
        raise SystemExit(f"ara-manage migrate failed:\n{migrate.stdout.decode()}{migrate.stderr.decode()}")
    command = [str(venv.bin("ara-manage")), "runserver", "--noreload", f"127.0.0.1:{port}"]
    log = open(base_dir / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base_dir)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url, process)
        yield url
    finally:
        stop(process)
        log.close()


def clean_ara_env() -> dict[str, str]:
    """The environment without the caller's Ansible/ARA settings (and no PYTHONPATH into our tree)."""
    return {k: v for k, v in clean_environ().items() if not k.startswith(("ANSIBLE_", "ARA_"))}


def ours_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a process running our code: the ``ara`` this script imported (a worktree's, not whatever
    is installed), so the callback, the server and this script agree."""
    import ara

    return {**env, "PYTHONPATH": str(Path(ara.__file__).resolve().parents[1])}


def ansible_env(work: Path, forks: int) -> dict[str, str]:
    env = clean_ara_env()
    env.update(
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
        ANSIBLE_DEPRECATION_WARNINGS="False",
    )
    return env


@dataclass
class Workload:
    hosts: int
    tasks: int
    fail_every: int
    dirs: dict[str, Path] = field(default_factory=dict)  # python -> folder (the inventory names the interpreter)

    @property
    def label(self) -> str:
        return f"{self.hosts}x{self.tasks}"

    @property
    def results(self) -> int:
        return self.hosts * self.tasks

    def folder(self, python: Path, scratch: Path) -> Path:
        """The workload generated by ``python`` itself, so modules run with the playbook's own Python."""
        key = str(python)
        if key not in self.dirs:
            out = scratch / f"workload-{self.label}-{len(self.dirs)}"
            gen = [str(python), str(BENCH / "gen_playbook.py"), str(out), str(self.hosts), str(self.tasks)]
            subprocess.run([*gen, str(self.fail_every)], check=True, capture_output=True, env=clean_environ())
            self.dirs[key] = out
        return self.dirs[key]


@dataclass
class Harness:
    forks: int
    scratch: Path
    upstream: UpstreamVenv | None
    ours_callbacks: str = ""

    def run(self, variant: str, workload: Workload, index: int) -> dict[str, Any]:
        """One timed ``ansible-playbook`` of ``workload`` under ``variant``; returns its time and checks."""
        python = Path(sys.executable) if not variant.startswith("upstream") else self.venv.python
        folder = workload.folder(python, self.scratch)
        base_dir = Path(tempfile.mkdtemp(prefix=f"{variant}-{workload.label}-{index}-", dir=self.scratch))
        env = ansible_env(base_dir, self.forks)
        if variant == "plain":
            return self.timed(variant, python, folder, env, base_dir, workload, None)
        if variant.startswith("ours"):
            env = ours_env(env)
            env.update(ANSIBLE_CALLBACK_PLUGINS=self.ours_callbacks, ANSIBLE_CALLBACKS_ENABLED="ara_default")
            env.update(ARA_BASE_DIR=str(base_dir), ARA_SPOOL_DIR=str(base_dir / "spool"))
            if variant == "ours-http-nospool":
                env["ARA_SPOOL_ENABLED"] = "false"
        else:
            env = self.venv.environ(env, ANSIBLE_CALLBACK_PLUGINS=self.venv.setup_path("callback_plugins"))
            env.update(ANSIBLE_CALLBACKS_ENABLED="ara_default", ARA_BASE_DIR=str(base_dir))
        database = base_dir / "ansible.sqlite"
        if variant.endswith("offline"):
            env["ARA_API_CLIENT"] = "offline"
            return self.timed(variant, python, folder, env, base_dir, workload, database)
        env["ARA_API_CLIENT"] = "http"
        server = ours_server(base_dir) if variant.startswith("ours") else upstream_server(self.venv, base_dir)
        with server as url:
            env["ARA_API_SERVER"] = url
            return self.timed(variant, python, folder, env, base_dir, workload, database)

    def replay(self, workload: Workload) -> dict[str, Any]:
        """Record ``workload`` with the server down (all of it spooled), then time its replay into a fresh server."""
        folder = workload.folder(Path(sys.executable), self.scratch)
        base_dir = Path(tempfile.mkdtemp(prefix=f"replay-{workload.label}-", dir=self.scratch))
        port = free_port()
        env = ours_env(ansible_env(base_dir, self.forks))
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=self.ours_callbacks,
            ANSIBLE_CALLBACKS_ENABLED="ara_default",
            ARA_BASE_DIR=str(base_dir),
            ARA_API_CLIENT="http",
            ARA_API_SERVER=f"http://127.0.0.1:{port}",
            ARA_SPOOL_DIR=str(base_dir / "spool"),
            ARA_API_RETRY_SECONDS="0",
            ARA_END_TIMEOUT="0",
        )
        offline = self.timed("spooling", Path(sys.executable), folder, env, base_dir, workload, None, keep=True)
        spools = sorted((base_dir / "spool").glob("*.jsonl"))
        lines = sum(len(path.read_text().splitlines()) - 1 for path in spools)
        from ara.clients.http import AraHttpClient
        from ara.clients.spool import replay_directory

        with ours_server(base_dir, port) as url, AraHttpClient(endpoint=url) as client:
            started = time.perf_counter()
            done = replay_directory(client, base_dir / "spool", budget=5)
            seconds = time.perf_counter() - started
        if done.sent != lines:
            raise SystemExit(f"replay: sent {done.sent} of {lines} spooled calls")
        checked = check_recording(base_dir / "ansible.sqlite", workload, "replay")
        if not os.environ.get("ARA_BENCH_KEEP"):
            shutil.rmtree(base_dir, ignore_errors=True)
        return {
            "spooling_run_seconds": offline["seconds"],
            "calls": done.sent,
            "seconds": seconds,
            "results_per_second": workload.results / seconds,
            "calls_per_second": done.sent / seconds,
            **checked,
        }

    @property
    def venv(self) -> UpstreamVenv:
        if self.upstream is None:
            raise SystemExit("upstream variants need the upstream virtualenv")
        return self.upstream

    def timed(
        self,
        variant: str,
        python: Path,
        folder: Path,
        env: dict[str, str],
        base_dir: Path,
        workload: Workload,
        database: Path | None,
        *,
        keep: bool = False,
    ) -> dict[str, Any]:
        command = [str(python), "-m", "ansible", "playbook", "-i", "hosts.ini", "site.yml"]
        with open(base_dir / "ansible.log", "wb") as log:
            started = time.perf_counter()
            done = subprocess.run(command, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
            seconds = time.perf_counter() - started
        if done.returncode != 0:
            tail = (base_dir / "ansible.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{variant}: ansible-playbook exited {done.returncode}:\n{tail}")
        row: dict[str, Any] = {"variant": variant, "workload": workload.label, "seconds": seconds}
        if database is not None:
            row.update(check_recording(database, workload, variant))
        if not keep and not os.environ.get("ARA_BENCH_KEEP"):
            shutil.rmtree(base_dir, ignore_errors=True)
        return row


def check_recording(database: Path, workload: Workload, variant: str) -> dict[str, Any]:
    """Every result recorded and the playbook finished (both schemas name their tables alike)."""
    with sqlite3.connect(database) as db:
        results = db.execute("SELECT count(*) FROM results").fetchone()[0]
        statuses = [row[0] for row in db.execute("SELECT status FROM playbooks")]
    if results != workload.results or statuses != ["completed"]:
        raise SystemExit(f"{variant}: recorded {results} results of {workload.results}, playbook {statuses}")
    return {"recorded_results": results}


def summarize(rows: list[dict[str, Any]], stat: str) -> dict[str, dict[str, Any]]:
    """Per variant: the chosen statistic of its times, overhead over plain and relative to upstream's."""
    pick = statistics.median if stat == "median" else min
    times: dict[str, list[float]] = {}
    for row in rows:
        times.setdefault(row["variant"], []).append(row["seconds"])
    summary = {variant: {"seconds": pick(values), "runs": values} for variant, values in times.items()}
    plain = summary.get("plain", {}).get("seconds")
    for entry in summary.values():
        entry["overhead"] = (entry["seconds"] - plain) / plain if plain else None
    reference = summary.get("upstream-http", {}).get("overhead")
    for variant, entry in summary.items():
        entry["of_upstream"] = entry["overhead"] / reference if reference and entry["overhead"] is not None else None
        if variant in OURS and entry["overhead"] is not None:
            entry["meets_plain_target"] = entry["overhead"] <= TARGET_OF_PLAIN
            if entry["of_upstream"] is not None:
                entry["meets_upstream_target"] = entry["of_upstream"] <= TARGET_OF_UPSTREAM
    return summary


def print_table(label: str, summary: dict[str, dict[str, Any]], stat: str) -> None:
    print(f"\n{label}: {stat} wall time of ansible-playbook")
    print(f"{'variant':<18}{'seconds':>10}{'overhead':>11}{'of upstream':>13}   runs")
    for variant in VARIANTS:
        if variant not in summary:
            continue
        entry = summary[variant]
        overhead = "" if entry["overhead"] is None else f"{entry['overhead']:+.1%}"
        ratio = "" if entry["of_upstream"] is None else f"{entry['of_upstream']:.3f}"
        runs = " ".join(f"{t:.1f}" for t in entry["runs"])
        print(f"{variant:<18}{entry['seconds']:>10.2f}{overhead:>11}{ratio:>13}   {runs}")
    for variant in OURS:
        entry = summary.get(variant, {})
        if "meets_plain_target" in entry:
            verdict = "meets" if entry["meets_plain_target"] else "MISSES"
            line = f"  {variant}: {verdict} <= {TARGET_OF_PLAIN:.0%} of plain"
            if "meets_upstream_target" in entry:
                verdict = "meets" if entry["meets_upstream_target"] else "MISSES"
                line += f"; {verdict} <= 1/3 of upstream's overhead"
            print(line)
    spooled, unspooled = summary.get("ours-http", {}), summary.get("ours-http-nospool", {})
    if spooled.get("overhead") is not None and unspooled.get("overhead") is not None:
        print(
            f"  spool cost with the server up: ours-http {spooled['overhead']:+.1%} vs "
            f"ours-http-nospool {unspooled['overhead']:+.1%} of plain"
        )


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        hosts, tasks = part.lower().split("x")
        sizes.append((int(hosts), int(tasks)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="", help="HOSTSxTASKS, comma separated (default 26x52,100x100)")
    parser.add_argument("--quick", action="store_true", help="26x52 only, one run each, smaller query dataset")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant per size (default 3)")
    parser.add_argument(
        "--repeat-large", type=int, default=1, help=f"runs per variant for sizes over {LARGE} results (default 1)"
    )
    parser.add_argument("--stat", choices=("median", "min"), default="median")
    parser.add_argument("--forks", type=int, default=5, help="ansible forks for every variant (default 5)")
    parser.add_argument("--fail-every", type=int, default=10, help="gen_playbook.py's FAIL_EVERY (default 10)")
    parser.add_argument("--variants", default=",".join(DEFAULT_VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--skip-queries", action="store_true", help="skip the 40,000-result query timings")
    parser.add_argument("--query-results", type=int, default=40_000)
    parser.add_argument("--skip-replay", action="store_true", help="skip the replay-from-spool measurement")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat, args.query_results = args.sizes or "26x52", 1, min(args.query_results, 10_000)
    args.sizes = args.sizes or "26x52,100x100"
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")

    from ara.setup import callback_plugins

    needs_upstream = any(v.startswith("upstream") for v in variants) or not args.skip_queries
    upstream = ensure_venv(SERVER_REQUIREMENTS) if needs_upstream else None
    import ansible.release

    print(
        f"ansible-core {ansible.release.__version__} (ours/plain), {upstream.ansible_version if upstream else '-'}"
        f" (upstream venv); forks={args.forks}; {args.repeat} run(s) each, {args.stat}; {os.cpu_count()} CPUs"
    )
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "forks": args.forks,
        "repeat": args.repeat,
        "stat": args.stat,
        "cpus": os.cpu_count(),
        "ansible": ansible.release.__version__,
        "upstream": {"requirements": list(SERVER_REQUIREMENTS), "ansible": upstream and upstream.ansible_version},
        "workloads": {},
    }
    path = args.out / f"records-{time.strftime('%Y%m%d-%H%M%S')}.json"
    with tempfile.TemporaryDirectory(prefix="ara-bench-") as scratch_name:
        scratch = Path(scratch_name)
        harness = Harness(args.forks, scratch, upstream, callback_plugins)
        if not args.skip_queries:
            from bench.queries import run_queries

            report["queries"] = run_queries(args.query_results, scratch, upstream)
            write_report(report, path)
        for hosts, tasks in parse_sizes(args.sizes):
            workload = Workload(hosts, tasks, args.fail_every)
            repeat = args.repeat if workload.results <= LARGE else args.repeat_large
            rows = []
            for index in range(repeat):
                for variant in variants:
                    row = harness.run(variant, workload, index)
                    print(
                        f"  {workload.label} run {index + 1}/{repeat} {variant:<17} {row['seconds']:8.2f} s", flush=True
                    )
                    rows.append(row)
            summary = summarize(rows, args.stat)
            print_table(f"{workload.label} ({workload.results} results)", summary, args.stat)
            report["workloads"][workload.label] = {"results": workload.results, "summary": summary, "rows": rows}
            if not args.skip_replay:
                replay = harness.replay(workload)
                print(
                    f"  replay from spool: {replay['calls']} calls ({workload.results} results) in "
                    f"{replay['seconds']:.2f} s = {replay['results_per_second']:.0f} results/s "
                    f"({replay['calls_per_second']:.0f} calls/s)"
                )
                report["workloads"][workload.label]["replay"] = replay
            write_report(report, path)
    print(f"\nJSON: {path}")
    return 0


def write_report(report: dict[str, Any], path: Path) -> None:
    """Written after each part, so a long run interrupted late still leaves its figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
