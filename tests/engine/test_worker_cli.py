"""``ara worker`` refuses, with exit code 2 and the reason, to start where it could not do its job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.workers import ARA

KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="
# Refused before any connection is attempted: nothing listens on port 1.
POSTGRES = "postgresql://ara@127.0.0.1:1/ara"


def _worker(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("ARA_")}
    return subprocess.run(
        [*ARA, "worker", *args],
        env={**base, "ARA_BASE_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env", "reason"),
    [
        ((), {}, "the embedded server executes its own runs"),
        ((), {"ARA_DATABASE__URL": POSTGRES}, "needs ARA_SECRET_KEY"),
        (("--concurrency", "0"), {"ARA_DATABASE__URL": POSTGRES, "ARA_SECRET_KEY": KEY}, "--concurrency must be"),
        (("--queue", "everything"), {"ARA_DATABASE__URL": POSTGRES, "ARA_SECRET_KEY": KEY}, "everything"),
    ],
    ids=["sqlite", "no-secret-key", "no-slot", "unknown-queue"],
)
def test_refusals(tmp_path: Path, args: tuple[str, ...], env: dict[str, str], reason: str) -> None:
    result = _worker(tmp_path, *args, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert reason in result.stderr
