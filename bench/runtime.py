#!/usr/bin/env python3
"""Benchmark: what the agent runtime adds to the work it wraps, against a baseline measured in the same run.

  exec       the ``exec`` tool running ``echo hello`` in each sandbox backend (bwrap, the confined subprocess)
             against a bare ``subprocess.run(["echo", "hello"])``, and bwrap's own start (its argv run bare);
  read_file  the ``read_file`` tool on a 4 KiB file of a session against reading the file directly.

Each pair takes turns within every repetition (so load from anything else on this shared machine hits both sides
alike); it reports the median and p95 of ``--runs`` samples and the added milliseconds (median minus the
baseline's median). The issue's targets are printed beside them: ``exec`` in the sandbox <= 10 ms added;
``execute_tool(read_file)`` over HTTP <= 5 ms added and a chat turn <= 10 ms added over the scripted model's
latency (the server is a real ``ara server`` process on SQLite; the model is tests/support/fake_llm.py answering
after a fixed 50 ms).

Usage: python3 bench/runtime.py [--runs 200] [--backends bwrap,subprocess]
Not a test: it prints figures and writes bench/out/runtime.json; it asserts only that every call succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's ara, whatever is installed
sys.path.insert(1, str(ROOT))  # tests.support: the real server process, users, the scripted model

from tests.support.fake_llm import fixed_latency_model  # noqa: E402
from tests.support.runtime_users import seed_runtime_users  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

from ara.runtime.sandbox.base import Sandbox  # noqa: E402
from ara.runtime.sandbox.bwrap import BwrapSandbox  # noqa: E402
from ara.runtime.sandbox.confined import ConfinedSandbox  # noqa: E402
from ara.runtime.sandbox.select import bwrap_problem  # noqa: E402
from ara.runtime.tools.base import ToolContext, execute  # noqa: E402
from ara.runtime.tools.builtin import find_builtin  # noqa: E402
from ara.runtime.workspace import Workspace  # noqa: E402
from ara.settings import RuntimeSettings, Settings  # noqa: E402

TARGET_EXEC_ADDED_MS = 10.0
TARGET_HTTP_READ_ADDED_MS = 5.0
TARGET_CHAT_ADDED_MS = 10.0


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": statistics.median(ordered), "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)]}


def cpu_ms() -> float:
    """CPU time used so far by this process and its waited-for children (both sides of the sandbox's work)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime) * 1000


def paired(runs: int, baseline: Callable[[], None], measured: Callable[[], None]) -> dict[str, Any]:
    """Both callables ``runs`` times, alternating which goes first; wall and CPU milliseconds per call. The CPU
    figure hardly moves with the machine's load, the wall clock does (namespaces and mounts wait on the kernel)."""
    wall: dict[int, list[float]] = {0: [], 1: []}
    cpu = {0: 0.0, 1: 0.0}
    for i in range(runs):
        order = [(baseline, 0), (measured, 1)]
        for call, side in order if i % 2 == 0 else reversed(order):
            cpu_before, started = cpu_ms(), time.perf_counter()
            call()
            wall[side].append((time.perf_counter() - started) * 1000)
            cpu[side] += cpu_ms() - cpu_before
    b, o = stats(wall[0]), stats(wall[1])
    b["cpu_ms"], o["cpu_ms"] = cpu[0] / runs, cpu[1] / runs
    return {"baseline": b, "measured": o, "added_ms": o["median_ms"] - b["median_ms"], "runs": runs}


def sandbox_for(name: str) -> Sandbox | None:
    if name == "subprocess":
        return ConfinedSandbox()
    executable = "/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None
    problem = bwrap_problem(executable)
    if problem or executable is None:
        print(f"bwrap skipped: {problem}")
        return None
    return BwrapSandbox(executable)


def bench_exec(workspace: Workspace, backend: str, runs: int) -> dict[str, Any] | None:
    sandbox = sandbox_for(backend)
    if sandbox is None:
        return None
    ctx = ToolContext("sess-bench", 0, workspace, sandbox, RuntimeSettings())
    tool = find_builtin("exec")

    def bare() -> None:
        done = subprocess.run(["echo", "hello"], capture_output=True, check=True)
        assert done.stdout == b"hello\n"

    def sandboxed() -> None:
        outcome = execute(tool, ctx, {"command": "echo hello"})
        assert outcome.ok and outcome.output["stdout"] == "hello\n", outcome

    for _ in range(5):  # warm-up: page cache, the first bwrap start
        sandboxed()
    return paired(runs, bare, sandboxed)


def bench_bwrap_start(workspace: Workspace, runs: int) -> dict[str, Any] | None:
    """bwrap's own start-up (namespaces, mounts), apart from what the tool and the limits add."""
    sandbox = sandbox_for("bwrap")
    if sandbox is None:
        return None
    argv = sandbox.argv(["echo", "hello"], workspace=workspace)

    def bare() -> None:
        subprocess.run(["echo", "hello"], capture_output=True, check=True)

    def wrapped() -> None:
        assert subprocess.run(argv, capture_output=True, check=True).stdout == b"hello\n"

    return paired(runs, bare, wrapped)


def bench_read(workspace: Workspace, runs: int) -> dict[str, Any]:
    ctx = ToolContext("sess-bench", 0, workspace, ConfinedSandbox(), RuntimeSettings())
    content = ("".join(f"line {i:04d} of the benchmark file\n" for i in range(128)))[:4096]
    host = workspace.workspace_dir / "bench.txt"
    host.write_text(content)
    tool = find_builtin("read_file")

    def direct() -> None:
        assert host.read_text() == content

    def through_tool() -> None:
        outcome = execute(tool, ctx, {"path": "bench.txt"})
        assert outcome.ok and outcome.output["content"] == content

    return paired(runs, direct, through_tool)


@contextmanager
def runtime_server(env: dict[str, str] | None = None) -> Iterator[tuple[str, dict[str, str], str, Path]]:
    """A real ``ara server`` process (SQLite, embedded default) with one user's key and running session: yields
    the URL, the request headers, the session id and the session's workspace on this machine."""
    with tempfile.TemporaryDirectory(prefix="ara-bench-server-") as base:
        settings = Settings(base_dir=Path(base))
        user = seed_runtime_users(settings, "bench@example.org")["bench@example.org"]
        with ServerProcess(settings, env=env).start() as server:
            with httpx.Client(base_url=server.url, headers=user.headers, timeout=60) as http:
                started = http.post("/session/start", json={})
                started.raise_for_status()
            session_id = started.json()["session_id"]
            yield server.url, user.headers, session_id, settings.sessions_dir / session_id / "workspace"


def bench_http_read(runs: int) -> dict[str, Any]:
    """``POST /session/runtime/tools/execute`` with ``read_file`` (the SDK's request, over loopback, one
    connection kept alive) against reading the same file directly."""
    with runtime_server() as (url, headers, session_id, workspace), httpx.Client(base_url=url, headers=headers) as http:
        body = {"session_id": session_id, "tool_name": "write_file", "args": {"path": "4k.txt", "content": "x" * 4096}}
        http.post("/session/runtime/tools/execute", json=body).raise_for_status()
        host_file = workspace / "4k.txt"
        read = {"session_id": session_id, "tool_name": "read_file", "args": {"path": "4k.txt"}, "agent_id": None}

        def direct() -> None:
            assert len(host_file.read_text()) == 4096

        def over_http() -> None:
            answer = http.post("/session/runtime/tools/execute", json=read)
            assert answer.status_code == 200 and answer.json()["ok"], answer.text

        return paired(runs, direct, over_http)


def bench_chat_turn(runs: int, latency: float = 0.05) -> dict[str, Any]:
    """``POST /v1/chat`` (one text answer, no tools) against the same streaming request sent straight to the
    scripted model: the difference is what the loop adds (conversation, records, prompt, the SSE relay)."""
    with fixed_latency_model(latency) as model:
        env = {"OPENAI_BASE_URL": model.url, "OPENAI_API_KEY": "bench"}
        with (
            runtime_server(env) as (url, headers, _session, _workspace),
            httpx.Client(base_url=url, headers=headers) as http,
        ):
            direct_client = httpx.Client(base_url=model.url, headers={"Authorization": "Bearer bench"})
            request = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]}

            def to_model() -> None:
                with direct_client.stream("POST", "/chat/completions", json=request) as answer:
                    assert answer.status_code == 200 and b"[DONE]" in answer.read()

            def through_loop() -> None:
                answer = http.post("/v1/chat", json={"message": "hi", "model": "openai/bench"}, timeout=60)
                assert answer.status_code == 200 and answer.json()["text"] == "done", answer.text

            try:
                return paired(runs, to_model, through_loop)
            finally:
                direct_client.close()


def line(label: str, row: dict[str, Any], baseline: str, target: float | None) -> str:
    b, m = row["baseline"], row["measured"]
    text = (
        f"{label}: median {m['median_ms']:.2f} ms (p95 {m['p95_ms']:.2f}, CPU {m['cpu_ms']:.2f}), {baseline} "
        f"{b['median_ms']:.2f} ms (p95 {b['p95_ms']:.2f}, CPU {b['cpu_ms']:.2f}) -> +{row['added_ms']:.2f} ms, "
        f"{m['median_ms'] / b['median_ms']:.1f}x"
    )
    if target is not None:
        text += f"; target <= {target:g} ms added: {'met' if row['added_ms'] <= target else 'MISSED'}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--backends", default="bwrap,subprocess")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"bwrap", "subprocess"}
    if unknown:
        parser.error(f"--backends: unknown {', '.join(sorted(unknown))} (known: bwrap, subprocess)")

    results: dict[str, Any] = {"runs": args.runs, "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="ara-bench-runtime-") as base:
        workspace = Workspace(Path(base) / "sess-bench")
        workspace.create()
        if "bwrap" in backends and (start := bench_bwrap_start(workspace, args.runs)) is not None:
            results["bwrap_start"] = start
            print(line("bwrap alone (its argv, no limits, no tool)", start, "bare subprocess.run", None))
        for backend in backends:
            row = bench_exec(workspace, backend, args.runs)
            if row is not None:
                results[f"exec_{backend}"] = row
                target = TARGET_EXEC_ADDED_MS if backend == "bwrap" else None
                print(line(f"exec 'echo hello' in {backend}", row, "bare subprocess.run", target))
        results["read_file"] = bench_read(workspace, args.runs)
        print(line("read_file tool (4 KiB, no HTTP)", results["read_file"], "direct read", None))
    results["http_read_file"] = bench_http_read(args.runs)
    print(
        line("execute_tool(read_file) over HTTP", results["http_read_file"], "direct read", TARGET_HTTP_READ_ADDED_MS)
    )
    results["chat_turn"] = bench_chat_turn(min(args.runs, 100))
    print(line("chat turn (POST /v1/chat)", results["chat_turn"], "the model called directly", TARGET_CHAT_ADDED_MS))
    results["loadavg_after"] = os.getloadavg()
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    (out / "runtime.json").write_text(json.dumps(results, indent=2))
    print(f"load average before/after: {results['loadavg_before'][0]:.2f} / {results['loadavg_after'][0]:.2f}")


if __name__ == "__main__":
    main()
