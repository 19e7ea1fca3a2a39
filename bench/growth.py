#!/usr/bin/env python3
"""Growth benchmark: the records API's three heavy reads with 1,000,000 results, on SQLite and PostgreSQL.

For each database it bulk-loads playbooks of 100 hosts x 100 tasks (10,000 results each; a failing task every
tenth, failed on every tenth host and skipped elsewhere; ~590 bytes of JSON content per result) straight into
the tables (not through the API: 1M API writes take hours), once at ``--baseline`` results (one playbook) and
once at ``--results``, then times through the real app in-process (``create_app`` behind Starlette's
TestClient: routing, auth, queries and JSON rendering, no socket):

  GET /api/v1/results?status=failed   first page            target <= 10 ms
  GET /api/v1/playbooks               index (first page)    target <= 20 ms
  GET /api/v1/playbooks/<id>          nested detail of a 10,000-result playbook   target <= 60 ms

Each GET is sent once to warm up, then ``--repeat`` times; the table shows the median wall time at both sizes,
and at the larger the best wall time and the median CPU time of this process (the app's work in all its
threads, not the PostgreSQL server's: on a machine shared with other work the wall times mostly measure
waiting for a core). PostgreSQL is vacuumed and analyzed after the load (autovacuum would do it); SQLite is
not (nothing analyzes a real deployment's file). To time the code of another tree, run this script with that
tree's ``src`` first on PYTHONPATH: the loader writes only columns every schema version has.

Usage: python3 bench/growth.py [--results 1000000] [--baseline 10000] [--repeat 7]
                               [--postgres URL | --no-postgres] [--sqlite-only]
``--postgres`` names a server (e.g. ARA_TEST_POSTGRES_URL, used when set); a fresh database is created on it
and dropped afterwards. Not a test: prints a table and writes JSON to bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parent
HOSTS = 100
TASKS = 100
FAIL_EVERY = 10
PER_PLAYBOOK = HOSTS * TASKS
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TARGETS_MS = {"results_failed": 10.0, "playbooks_index": 20.0, "playbook_nested": 60.0}
LABELS = {
    "results_failed": "GET /api/v1/results?status=failed",
    "playbooks_index": "GET /api/v1/playbooks",
    "playbook_nested": "GET /api/v1/playbooks/<id> (10,000 results)",
}


def result_status(task: int, host: int) -> str:
    if task and task % FAIL_EVERY == 0:
        return "failed" if host % 10 == 0 else "skipped"
    return "ok"


def result_content(task: int, host: int, status: str) -> dict[str, Any]:
    """What the callback sends for a command-like task, padded to about 590 bytes of JSON."""
    name = f"h{host:04d}"
    content: dict[str, Any] = {
        "changed": status == "failed",
        "cmd": ["/bin/sh", "-c", f"echo step {task} on {name}"],
        "rc": 1 if status == "failed" else 0,
        "stdout": f"step {task} on {name}",
        "stderr": "",
        "start": "2026-01-01 00:00:00.000000",
        "end": "2026-01-01 00:00:00.004000",
        "delta": "0:00:00.004000",
        "msg": "non-zero return code" if status == "failed" else "",
        "invocation": {
            "module_args": {"_raw_params": f"echo step {task} on {name}", "_uses_shell": True, "chdir": None}
        },
        "_ansible_no_log": False,
    }
    if status == "skipped":
        content = {"changed": False, "skip_reason": "Conditional result was False", "skipped": True}
    padding = 590 - len(json.dumps(content))
    if padding > 0:
        content["stdout_lines"] = [("x" * min(60, padding))] * max(1, padding // 64)
    return content


def sqlite_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's storage format for SQLite DATETIME


class Loader:
    """Writes ``playbooks`` playbooks of 10,000 results with explicit ids, in one transaction per playbook."""

    def __init__(self, engine: Engine) -> None:
        from ara.db.types import compress_json
        from ara.records import models as m

        self.engine = engine
        self.m = m
        self.postgres = engine.dialect.name == "postgresql"
        self.contents = {
            (t, h): compress_json(result_content(t, h, result_status(t, h))) for t in range(TASKS) for h in range(HOSTS)
        }

    def load(self, playbooks: int) -> None:
        m = self.m
        with self.engine.begin() as connection:
            connection.execute(insert(m.FileContent.__table__).values(id=1, sha1="0" * 40, contents=b"x\x9c\x03\x00"))
        for p in range(playbooks):
            self.playbook(p)
        with self.engine.begin() as connection:
            rows = [{"name": f"h{h:04d}", "host_id": (playbooks - 1) * HOSTS + h + 1} for h in range(HOSTS)]
            connection.execute(insert(m.LatestHost.__table__), rows)
        if self.postgres:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")

    def playbook(self, p: int) -> None:
        m = self.m
        pid = p + 1
        clock = START + dt.timedelta(hours=p)
        stamps = {"created": clock, "updated": clock, "started": clock, "ended": clock + dt.timedelta(minutes=30)}
        with self.engine.begin() as connection:
            connection.execute(
                insert(m.Playbook.__table__).values(
                    id=pid,
                    name=f"growth {p}",
                    ansible_version="2.19.14",
                    server_version="bench",
                    status="completed",
                    arguments={"check": False},
                    path=f"/bench/site-{p}.yml",
                    duration=1800.0,
                    **stamps,
                )
            )
            connection.execute(
                insert(m.File.__table__).values(id=pid, path=f"/bench/site-{p}.yml", content_id=1, playbook_id=pid)
            )
            play = {"id": pid, "name": "synthetic workload", "uuid": str(uuid.UUID(int=pid)), "status": "completed"}
            connection.execute(insert(m.Play.__table__).values(playbook_id=pid, duration=1800.0, **play, **stamps))
            connection.execute(
                insert(m.Host.__table__),
                [{"id": p * HOSTS + h + 1, "name": f"h{h:04d}", "playbook_id": pid, "ok": TASKS} for h in range(HOSTS)],
            )
            tasks = []
            for t in range(TASKS):
                started = clock + dt.timedelta(seconds=t)
                tasks.append(
                    {
                        "id": p * TASKS + t + 1,
                        "name": f"task {t}",
                        "uuid": str(uuid.UUID(int=pid * 1_000_000 + t)),
                        "action": "command",
                        "lineno": 5 + 3 * t,
                        "handler": False,
                        "status": "completed",
                        "play_id": pid,
                        "file_id": pid,
                        "playbook_id": pid,
                        "created": started,
                        "updated": started,
                        "started": started,
                        "ended": started + dt.timedelta(seconds=1),
                        "duration": 1.0,
                    }
                )
            connection.execute(insert(m.Task.__table__), tasks)
            self.results(connection, p, clock)

    def results(self, connection: Any, p: int, clock: dt.datetime) -> None:
        pid = p + 1
        rows = []
        for t in range(TASKS):
            for h in range(HOSTS):
                status = result_status(t, h)
                started = clock + dt.timedelta(seconds=t, milliseconds=h * 5)
                took = dt.timedelta(microseconds=1_000 + (t * 7_919 + h * 104_729) % 900_000)  # all different
                ended = started + took
                when: tuple[Any, ...] = (started, started, started, ended)
                if not self.postgres:
                    when = tuple(sqlite_time(value) for value in when)
                rows.append(
                    (
                        p * PER_PLAYBOOK + t * HOSTS + h + 1,
                        *when,
                        took.total_seconds(),
                        status,
                        status == "failed",
                        status == "failed",
                        self.contents[(t, h)],
                        p * HOSTS + h + 1,
                        p * TASKS + t + 1,
                        pid,
                        pid,
                    )
                )
        columns = (
            "id, created, updated, started, ended, duration, status, changed, ignore_errors, content, "
            "host_id, task_id, play_id, playbook_id"
        )
        raw = connection.connection.driver_connection
        if self.postgres:
            with raw.cursor() as cursor, cursor.copy(f"COPY results ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(rows[0]))
            raw.executemany(f"INSERT INTO results ({columns}) VALUES ({marks})", rows)


def settings_for(url: str, base_dir: Path) -> Any:
    from ara.settings import Settings

    return Settings(base_dir=base_dir, database={"url": url})


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A fresh database on ``server``, dropped afterwards."""
    server_url = make_url(server).set(drivername="postgresql+psycopg")
    name = "ara_growth_" + uuid.uuid4().hex[:10]
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def time_get(client: Any, path: str, params: dict[str, Any], repeat: int) -> tuple[dict[str, float], Any]:
    """Median and best wall time, and median CPU time of this process (all its threads: the app's work, not
    the PostgreSQL server's), in milliseconds; CPU time is what a machine shared with other work still shows."""
    first = client.get(path, params=params)
    assert first.status_code == 200, first.text
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        response = client.get(path, params=params)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200
    timing = {"median": statistics.median(walls), "min": min(walls), "cpu": statistics.median(cpus)}
    return {key: value * 1000 for key, value in timing.items()}, first.json()


def measure(url: str, results: int, repeat: int, scratch: Path) -> dict[str, Any]:
    """Loads ``results`` results into the database at ``url`` and times the three GETs (milliseconds)."""
    from fastapi.testclient import TestClient

    from ara.db.migrate import upgrade
    from ara.db.session import make_engine
    from ara.server.app import create_app

    playbooks = max(1, results // PER_PLAYBOOK)
    settings = settings_for(url, scratch)
    engine = make_engine(settings)
    started = time.perf_counter()
    try:
        upgrade(engine)
        Loader(engine).load(playbooks)
    finally:
        engine.dispose()
    load_seconds = time.perf_counter() - started
    app = create_app(settings, workers=False)
    failed_per_playbook = len(range(FAIL_EVERY, TASKS, FAIL_EVERY)) * len(range(0, HOSTS, 10))
    with TestClient(app) as client:
        failed_ms, failed = time_get(client, "/api/v1/results", {"status": "failed"}, repeat)
        assert failed["count"] == failed_per_playbook * playbooks
        assert len(failed["results"]) == min(100, failed["count"])
        assert [r["id"] for r in failed["results"]] == sorted((r["id"] for r in failed["results"]), reverse=True)
        index_ms, index = time_get(client, "/api/v1/playbooks", {}, repeat)
        assert index["count"] == playbooks
        assert {p["items"]["results"] for p in index["results"]} == {PER_PLAYBOOK}
        nested_ms, nested = time_get(client, f"/api/v1/playbooks/{playbooks}", {}, repeat)
        assert sum(len(task["results"]) for play in nested["plays"] for task in play["tasks"]) == PER_PLAYBOOK
    app.state.ara.engine.dispose()
    return {
        "results": playbooks * PER_PLAYBOOK,
        "playbooks": playbooks,
        "load_seconds": round(load_seconds, 1),
        "ms": {"results_failed": failed_ms, "playbooks_index": index_ms, "playbook_nested": nested_ms},
    }


def run_database(name: str, url_for: Any, sizes: list[int], repeat: int, scratch: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for size in sizes:
        with url_for(size) as url:
            print(f"{name}: loading {size:,} results ...", flush=True)
            out[str(size)] = measure(url, size, repeat, Path(tempfile.mkdtemp(dir=scratch)))
            print(f"{name}: loaded in {out[str(size)]['load_seconds']} s", flush=True)
    return out


def print_table(report: dict[str, Any], baseline: int, results: int) -> None:
    print(f"\n{report['repeat']} GETs each, in-process (create_app behind TestClient), milliseconds:")
    print("median wall time at both sizes, then best wall time and median CPU time of this process at the larger")
    header = f"{'database':<11}{'GET':<46}{f'{baseline:,}':>9}{f'{results:,}':>11}{'best':>7}{'cpu':>7}{'target':>8}"
    print(header)
    for database, sizes in report["databases"].items():
        for key, label in LABELS.items():
            small, large = sizes[str(baseline)]["ms"][key], sizes[str(results)]["ms"][key]
            figures = f"{small['median']:>9.1f}{large['median']:>11.1f}{large['min']:>7.1f}{large['cpu']:>7.1f}"
            print(f"{database:<11}{label:<46}{figures}{TARGETS_MS[key]:>8.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", default=os.environ.get("ARA_TEST_POSTGRES_URL", ""))
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL even if a URL is known")
    args = parser.parse_args(argv)
    sizes = [args.baseline, args.results]
    scratch = Path(tempfile.mkdtemp(prefix="ara-growth-"))

    @contextmanager
    def sqlite_url(size: int) -> Iterator[str]:
        yield f"sqlite:///{scratch / f'growth-{size}.sqlite'}"

    report: dict[str, Any] = {"repeat": args.repeat, "targets_ms": TARGETS_MS, "databases": {}}
    report["databases"]["sqlite"] = run_database("sqlite", sqlite_url, sizes, args.repeat, scratch)
    if args.postgres and not args.sqlite_only:
        report["databases"]["postgresql"] = run_database(
            "postgresql", lambda _size: postgres_database(args.postgres), sizes, args.repeat, scratch
        )
    print_table(report, args.baseline, args.results)
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    path = out / f"growth-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {path}")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
