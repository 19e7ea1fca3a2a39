#!/usr/bin/env python3
"""Benchmark: the web UI's playbook page at 10,000 results, ours against ARA 1.8's own UI on the same data.

One playbook of ``--hosts`` x ``--tasks`` results (default 100 x 100; ``bench/ui_data.py``) is loaded into
  ours      ``ara server`` on a fresh SQLite database, through our records API in-process (``AraOfflineClient``:
            the routes and services of ``ara server``, one commit per request), and
  upstream  ARA 1.8.0 (``ara[server]`` from PyPI in its own virtualenv) ``ara-manage runserver --noreload`` on a
            fresh SQLite database, through its own DRF serializers in one transaction (``upstream_load.py``:
            its HTTP API writes about 20 requests/s here, ten minutes for this playbook).
Then, with both servers up, it times the pages people open: the playbook page (ours
``/ui/records/playbooks/{id}``, upstream ``/playbooks/{id}.html``; each as it loads by default: our first page
of ``ui.page_size`` results, upstream's ``PAGE_SIZE`` of 100, and upstream with ``?limit=`` our page size for
the same rows), the same page filtered to failed results, failed first (ours only) and at its last page of
results, the playbook index and the failed result's page. The first request of each page after the server
started is reported as ``cold``; then ``--repeat`` rounds take turns between the servers (so drift on this
shared 2-core machine hits both alike), each GET on a new connection (Django's runserver answers keep-alive
requests ~40 ms late: see ``bench/queries.py``). It prints median and p95 wall time, bytes, result rows on the
page, the server process's CPU time per GET (which the machine's load hardly moves) and the ratios
ours/upstream of both, and checks the target: our playbook page under a second (p95; the cold first GET, which
compiles the templates and the first queries, is checked and reported on its own).
Unless ``--skip-browser``, Chromium (Playwright, ``tests/support/browser.py``) opens each playbook page
``--browser-repeat`` times in a fresh context (no cache) and reports the time to the ``load`` event (after a
first, uncounted load that saves ``tests/.artifacts/screenshots/bench-ui-<server>-playbook.png``).

Usage: python3 bench/ui.py [--hosts 100] [--tasks 100] [--repeat 20] [--browser-repeat 5] [--skip-upstream]
                           [--skip-browser] [--out bench/out]
Not a test: it prints a table and writes JSON to ``--out`` (``ui-<time>.json`` and ``ui.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))  # bench.* and tests.support.* (the upstream virtualenv, Chromium)

from bench.proc_cpu import cpu_seconds, server_pid  # noqa: E402
from bench.queries import load_ours, load_upstream  # noqa: E402
from bench.run import ours_server, upstream_server  # noqa: E402
from bench.ui_data import PATH, Shape, dataset  # noqa: E402
from tests.support.upstream import SERVER_REQUIREMENTS, UpstreamVenv, ensure_venv  # noqa: E402

TARGET_SECONDS = 1.0
PAGES = (
    "playbook",
    "playbook_same_rows",
    "playbook_failed",
    "playbook_failed_first",
    "playbook_last_page",
    "index",
    "result",
)
# A result row links to the result's page: counting distinct links counts the rows a page shows.
RESULT_LINKS = {"ours": re.compile(r"/ui/records/results/(\d+)"), "upstream": re.compile(r"results/(\d+)\.html")}


@dataclass(frozen=True)
class Site:
    """A running server and the paths of its pages for the loaded playbook."""

    name: str
    url: str
    pages: dict[str, str]


def ours_pages(ids: dict[str, int], shape: Shape, page_size: int) -> dict[str, str]:
    playbook = f"/ui/records/playbooks/{ids['pb']}"
    return {
        "playbook": playbook,
        "playbook_failed": f"{playbook}?status=failed",
        "playbook_failed_first": f"{playbook}?failed_first=1",
        "playbook_last_page": f"{playbook}?results_page={last_page(shape, page_size)}",
        "index": "/ui/records/playbooks",
        "result": f"/ui/records/results/{ids['failed']}",
    }


def upstream_pages(ids: dict[str, int], shape: Shape, page_size: int) -> dict[str, str]:
    playbook = f"/playbooks/{ids['pb']}.html"
    offset = (last_page(shape, page_size) - 1) * page_size
    return {
        "playbook": playbook,
        "playbook_same_rows": f"{playbook}?limit={page_size}",
        "playbook_failed": f"{playbook}?status=failed",
        "playbook_last_page": f"{playbook}?limit={page_size}&offset={offset}",
        "index": "/",
        "result": f"/results/{ids['failed']}.html",
    }


def last_page(shape: Shape, page_size: int) -> int:
    return max(1, math.ceil(shape.results / page_size))


def check_loaded(site: Site, playbook: int, shape: Shape) -> None:
    """Both servers hold the same playbook: its result and failed-result counts, through each one's records API."""
    for params, expected in (({}, shape.results), ({"status": "failed"}, shape.failed_results())):
        query = {"playbook": playbook, "limit": 1, **params}
        found = httpx.get(f"{site.url}/api/v1/results", params=query, timeout=300).json()["count"]
        if found != expected:
            raise SystemExit(f"{site.name}: {found} results for {query}, expected {expected}")


def get(client: httpx.Client, site: Site, page: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(site.url + site.pages[page])
    seconds = time.perf_counter() - started
    if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
        raise SystemExit(f"{site.name} {site.pages[page]}: HTTP {response.status_code}\n{response.text[:2000]}")
    return seconds, response


def check(site: Site, page: str, response: httpx.Response) -> dict[str, Any]:
    """What the first answer showed: bytes, result rows and the first row's id (playbook pages); each page must
    show what it is about."""
    text = response.text
    expected = "h0000" if page == "result" else PATH
    if expected not in text:
        raise SystemExit(f"{site.name} {site.pages[page]}: the page does not show {expected!r}")
    links = RESULT_LINKS[site.name].findall(text) if page.startswith("playbook") else []
    rows = len(set(links)) if page.startswith("playbook") else None
    return {
        "path": site.pages[page],
        "bytes": len(response.content),
        "rows": rows,
        "first_row": links[0] if links else None,
    }


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def time_pages(sites: list[Site], repeat: int) -> dict[str, dict[str, Any]]:
    """Per server and page: the cold first GET, then ``repeat`` rounds taking turns between the servers; with
    the server process's CPU time per GET (``cpu_ms``), which the machine's load hardly moves."""
    report: dict[str, dict[str, Any]] = {site.name: {} for site in sites}
    pids = {site.name: server_pid(site.url) for site in sites}
    with httpx.Client(timeout=600, headers={"Connection": "close"}) as client:
        for site in sites:
            for page in site.pages:
                seconds, response = get(client, site, page)
                report[site.name][page] = {**check(site, page, response), "cold": seconds, "runs": [], "cpu": 0.0}
        for _ in range(repeat):
            for page in {page: None for site in sites for page in site.pages}:
                for site in sites:
                    if page in site.pages:
                        entry, pid = report[site.name][page], pids[site.name]
                        before = cpu_seconds(pid) if pid else 0.0
                        entry["runs"].append(get(client, site, page)[0])
                        entry["cpu"] += (cpu_seconds(pid) - before) if pid else 0.0
    for name, pages in report.items():
        for entry in pages.values():
            entry["median"], entry["p95"] = statistics.median(entry["runs"]), p95(entry["runs"])
            entry["cpu_ms"] = 1000 * entry.pop("cpu") / repeat if pids[name] else None
    return report


def time_browser(sites: list[Site], repeat: int) -> dict[str, Any]:
    """Chromium's time from navigation to the ``load`` event of each playbook page, no cache (a fresh context)."""
    from tests.support.browser import chromium, screenshot

    script = (
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {load: n.loadEventEnd, dom: n.domContentLoadedEventEnd}; }"
    )
    report: dict[str, Any] = {}
    with chromium() as browser:
        for index in range(repeat + 1):  # the first round warms Chromium itself up and is not counted
            for site in sites:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(site.url + site.pages["playbook"], wait_until="load", timeout=120_000)
                timing = page.evaluate(script)
                if index == 0:
                    screenshot(page, f"bench-ui-{site.name}-playbook")
                else:
                    entry = report.setdefault(site.name, {"load_ms": [], "dom_ms": []})
                    entry["load_ms"].append(timing["load"])
                    entry["dom_ms"].append(timing["dom"])
                context.close()
    for entry in report.values():
        entry["median_load_ms"] = statistics.median(entry["load_ms"])
        entry["median_dom_ms"] = statistics.median(entry["dom_ms"])
    return report


def ratios(pages: dict[str, dict[str, Any]], key: str = "median") -> dict[str, float]:
    """ours/upstream of ``key`` (median time, CPU ms) per page both have; our playbook page also against
    upstream's at the same rows."""
    ours, upstream = pages.get("ours", {}), pages.get("upstream", {})
    pairs = {name: (name, name) for name in ours if name in upstream}
    if "playbook" in ours and "playbook_same_rows" in upstream:
        pairs["playbook_same_rows"] = ("playbook", "playbook_same_rows")
    return {
        name: ours[a][key] / upstream[b][key] for name, (a, b) in pairs.items() if ours[a][key] and upstream[b][key]
    }


def print_report(report: dict[str, Any]) -> None:
    pages, found, cpu = report["pages"], report["ratios"], report["cpu_ratios"]
    print(f"\nUI pages of a {report['results']}-result playbook: cold first GET, then median/p95 of {report['repeat']}")
    head = f"{'page':<23}{'server':<10}{'cold s':>9}{'median s':>10}{'p95 s':>9}{'bytes':>10}{'rows':>6}{'ours/up':>9}"
    print(f"{head}{'cpu ms':>9}{'ours/up':>9}")
    for page in PAGES:
        for server in ("ours", "upstream"):
            entry = pages.get(server, {}).get(page)
            if entry is None:
                continue
            median = f"{entry['median']:>10.4f}{entry['p95']:>9.4f}"
            ratio = f"{found[page]:>9.3f}" if server == "upstream" and page in found else f"{'':>9}"
            rows = "" if entry["rows"] is None else entry["rows"]
            cpu_ms = "" if entry["cpu_ms"] is None else f"{entry['cpu_ms']:.1f}"
            cpu_ratio = f"{cpu[page]:>9.3f}" if server == "upstream" and page in cpu else ""
            line = f"{page:<23}{server:<10}{entry['cold']:>9.4f}{median}{entry['bytes']:>10}{rows:>6}{ratio}"
            print(f"{line}{cpu_ms:>9}{cpu_ratio}")
    for server, entry in report.get("browser", {}).items():
        print(f"Chromium, {server} playbook page: load event at {entry['median_load_ms']:.0f} ms (median)")
    ours = pages["ours"]["playbook"]
    verdict = "meets" if report["meets_target"] else "MISSES"
    print(f"target: our playbook page under {TARGET_SECONDS:.0f} s: {verdict} (p95 {ours['p95']:.3f} s)", end="")
    cold = "under" if report["cold_meets_target"] else "OVER"
    print(f"; the cold first GET after a restart: {ours['cold']:.3f} s, {cold} {TARGET_SECONDS:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--fail-every", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20, help="timed GETs of each page per server (default 20)")
    parser.add_argument("--browser-repeat", type=int, default=5, help="Chromium loads per server (default 5)")
    parser.add_argument("--skip-upstream", action="store_true", help="ours only (no virtualenv, no baseline)")
    parser.add_argument("--skip-browser", action="store_true", help="no Chromium")
    parser.add_argument("--out", type=Path, default=BENCH / "out")
    args = parser.parse_args(argv)
    if args.hosts < 1 or args.fail_every < 1 or args.tasks <= args.fail_every or args.repeat < 1:
        parser.error("need --hosts >= 1, --fail-every >= 1, more tasks than --fail-every (a failed result to open)")
    from ara.settings import UISettings

    # Both databases are fresh SQLite files: the caller's ARA_* settings (a PostgreSQL URL, say) must not reach
    # the in-process load (the servers run without them, see bench/run.py's clean_ara_env).
    for key in [key for key in os.environ if key.startswith("ARA_")]:
        del os.environ[key]
    shape = Shape(args.hosts, args.tasks, args.fail_every)
    operations = dataset(shape)
    upstream = None if args.skip_upstream else ensure_venv(SERVER_REQUIREMENTS)
    page_size = UISettings().page_size  # the server runs without the caller's ARA_* settings: the default
    report: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "hosts": shape.hosts,
        "tasks": shape.tasks,
        "results": shape.results,
        "failed_results": shape.failed_results(),
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "ours_page_size": page_size,
    }
    with tempfile.TemporaryDirectory(prefix="ara-bench-ui-") as scratch_name, ExitStack() as servers:
        scratch = Path(scratch_name)
        started = time.perf_counter()
        ours_dir = scratch / "ours"
        ours_dir.mkdir()
        ids = load_ours(operations, ours_dir)
        report["ours_load_seconds"] = time.perf_counter() - started
        print(f"loaded {shape.results} results into ours in {report['ours_load_seconds']:.1f} s", flush=True)
        sites = [Site("ours", servers.enter_context(ours_server(ours_dir)), ours_pages(ids, shape, page_size))]
        check_loaded(sites[0], ids["pb"], shape)
        if upstream is not None:
            sites.append(upstream_site(upstream, shape, operations, scratch, servers, page_size, report))
        report["pages"] = time_pages(sites, args.repeat)
        report["ratios"] = ratios(report["pages"])
        report["cpu_ratios"] = ratios(report["pages"], "cpu_ms")
        if not args.skip_browser:
            report["browser"] = time_browser(sites, args.browser_repeat)
    ours = report["pages"]["ours"]["playbook"]
    report["meets_target"] = ours["p95"] < TARGET_SECONDS
    report["cold_meets_target"] = ours["cold"] < TARGET_SECONDS
    print_report(report)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"ui-{time.strftime('%Y%m%d-%H%M%S')}.json"
    for target in (path, args.out / "ui.json"):
        target.write_text(json.dumps(report, indent=2))
    print(f"\nJSON: {path}")
    return 0


def upstream_site(
    venv: UpstreamVenv,
    shape: Shape,
    operations: list[dict[str, Any]],
    scratch: Path,
    servers: ExitStack,
    page_size: int,
    report: dict[str, Any],
) -> Site:
    """Upstream's server with the same playbook loaded (its load time goes into ``report``)."""
    base_dir = scratch / "upstream"
    base_dir.mkdir()
    started = time.perf_counter()
    ids = load_upstream(operations, venv, base_dir)
    report["upstream_load_seconds"] = time.perf_counter() - started
    print(f"loaded {report['results']} results into upstream in {report['upstream_load_seconds']:.1f} s", flush=True)
    site = Site(
        "upstream", servers.enter_context(upstream_server(venv, base_dir)), upstream_pages(ids, shape, page_size)
    )
    check_loaded(site, ids["pb"], shape)
    return site


if __name__ == "__main__":
    raise SystemExit(main())
