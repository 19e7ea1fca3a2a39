"""``bench/ui.py`` runs end to end on a tiny playbook (ours only, no Chromium: the benchmark itself is not part of
the suite) and reports what it promises: cold and repeated timings, the server's CPU per GET, bytes and result
rows per page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ui.py"


def test_the_ui_benchmark_times_our_pages_on_the_loaded_playbook(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    command = [sys.executable, str(BENCH), "--hosts", "2", "--tasks", "12", "--repeat", "3"]
    done = subprocess.run(
        [*command, "--skip-upstream", "--skip-browser", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "target: our playbook page under 1 s" in done.stdout
    report = json.loads((tmp_path / "ui.json").read_text())
    assert report["results"] == 24 and report["failed_results"] == 1
    pages = report["pages"]["ours"]
    assert set(pages) == {
        "playbook",
        "playbook_failed",
        "playbook_failed_first",
        "playbook_last_page",
        "index",
        "result",
    }
    # 24 results fit on the first (and last) page; the status filter leaves the one failed result.
    assert (
        pages["playbook"]["rows"] == pages["playbook_failed_first"]["rows"] == pages["playbook_last_page"]["rows"] == 24
    )
    assert pages["playbook_failed"]["rows"] == 1 and pages["result"]["rows"] is None
    failed = pages["result"]["path"].rsplit("/", 1)[1]  # the failed result's page
    assert pages["playbook_failed"]["first_row"] == pages["playbook_failed_first"]["first_row"] == failed
    assert pages["playbook"]["first_row"] != failed  # newest first by default
    for entry in pages.values():
        assert len(entry["runs"]) == 3 and entry["cold"] > 0 and entry["bytes"] > 0
        assert min(entry["runs"]) <= entry["median"] <= entry["p95"] <= max(entry["runs"])
        assert entry["cpu_ms"] is not None and entry["cpu_ms"] >= 0  # the server process was found; 10 ms ticks
    assert "upstream" not in report["pages"] and report["ratios"] == report["cpu_ratios"] == {}
