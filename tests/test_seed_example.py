"""The README's Python example runs as written against records made through the API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ara.clients.offline import AraOfflineClient
from tests.conftest import make_settings
from tests.support.factories import record_playbook

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_prints_each_failure(tmp_path: Path) -> None:
    client = AraOfflineClient(settings=make_settings(tmp_path))
    record_playbook(client, status="failed", hosts=("db1",), tasks=(("migrate", "failed"), ("check", "ok")))
    record_playbook(client, status="completed", hosts=("db2",), tasks=(("ok", "ok"),))
    client.close()

    example = re.search(r"```python\n(from ara.clients.offline.*?)```", README.read_text(), re.S)
    assert example is not None
    out = subprocess.run(
        [sys.executable, "-c", example.group(1)],
        env={"ARA_BASE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "2024-05-01T10:00:00Z: db1 failed 'migrate' (/srv/site.yml:1)"
