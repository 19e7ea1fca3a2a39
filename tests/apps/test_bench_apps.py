"""``bench/apps.py`` runs end to end (two runs, SQLite only: the benchmark itself is not part of the suite) and
reports what it promises: deploy-to-first-answer, the sync run against the model alone, runs/s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ara.runtime.sandbox.select import choose_sandbox
from ara.settings import RuntimeSettings

BENCH = Path(__file__).resolve().parents[2] / "bench" / "apps.py"


def test_the_apps_benchmark_runs_and_reports_its_figures() -> None:
    if not choose_sandbox(RuntimeSettings()).strong:
        pytest.skip("bubblewrap does not work here")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARA_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "2", "--databases", "sqlite"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sqlite: deploy to first answer" in done.stdout and "runs/s through the agents queue" in done.stdout
    figures = json.loads((BENCH.parent / "out" / "apps.json").read_text())["sqlite"]
    assert figures["runs"] == 2 and figures["sync_run"]["median_ms"] > figures["model"]["median_ms"] > 0
    assert figures["runs_per_second"] > 0 and figures["deploy_to_first_answer_s"] > 0
