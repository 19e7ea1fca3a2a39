"""Real ``ara worker`` processes for tests, each with a home of its own (as on another machine) and the API host's
database and secret key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from ara.settings import Settings

ARA = [sys.executable, "-c", "from ara.cli.main import main; main()"]


def worker_env(settings: Settings, home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ARA_")}
    env.update(
        ARA_BASE_DIR=str(home),
        ARA_DATABASE__URL=settings.database_url,
        ARA_SECRET_KEY=settings.secret_key,
        ARA_ENGINE__POLL_INTERVAL=str(settings.engine.poll_interval),
        ARA_ENGINE__HEARTBEAT_TIMEOUT=str(settings.engine.heartbeat_timeout),
    )
    env.update(extra)
    return env


def registered_workers(database_url: str) -> int:
    """procrastinate workers registered on the database (an ``ara worker`` registers one per queue, and its clock)."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return int(connection.scalar(text("SELECT count(*) FROM procrastinate_workers")) or 0)
    finally:
        engine.dispose()


class WorkerProcess:
    def __init__(self, settings: Settings, home: Path, *args: str, **env: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / "worker.log"
        self.database_url = settings.database_url
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*ARA, "worker", *args], env=worker_env(settings, home, **env), stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_registered(self, count: int, timeout: float = 60) -> None:
        """Until ``count`` procrastinate workers are registered on the database, then a moment for LISTEN."""
        wait_registered([self], count, timeout)

    def terminate(self, timeout: float = 60) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def wait_registered(workers: list[WorkerProcess], count: int, timeout: float = 60) -> None:
    """Until ``count`` procrastinate workers are registered on the database (an ``ara worker`` registers one per
    queue and one for its clock, a server one for its clock), every one of ``workers`` alive; then a moment for
    LISTEN. A failure shows every worker's log: the one that did not register may not be the first."""
    deadline = time.monotonic() + timeout
    while (found := registered_workers(workers[0].database_url)) < count:
        for worker in workers:
            assert worker.process.poll() is None, f"ara worker exited: {worker.output()[-3000:]}"
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {worker.log}:\n{worker.output()[-2000:]}" for worker in workers)
            raise AssertionError(f"{found} of {count} procrastinate workers registered after {timeout} s\n{logs}")
        time.sleep(0.1)
    time.sleep(0.5)
