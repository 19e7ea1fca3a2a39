"""The real ``ara-sdk`` 0.1.46 CLI deploys an app against a real ``ara server`` (the control plane only): the
requests it sends, in order, all answered 2xx; ``GET /apps/{id}`` returns exactly the manifest it sent, first
created and then redeployed; its secret is stored sealed and its runtime key hashed and usable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ara.apps import keys, secrets_store
from ara.crypto import SecretBox
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from tests.conftest import make_settings
from tests.support.runtime_users import ALICE, seed_runtime_users
from tests.support.sdk_venv import ensure_sdk_venv
from tests.support.server import running_server

pytestmark = pytest.mark.compat
APP_FILE = Path(__file__).parent / "sdk_apps" / "digest_bot.py"  # the seed's sample app


@dataclass
class Recorder:
    """Pure ASGI middleware keeping each request's method, path, JSON body and answer status."""

    app: ASGIApp
    seen: list[tuple[str, str, Any, int]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            chunks.append(message.get("body", b""))
            return message

        async def send_and_keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = b"".join(chunks)
                body = json.loads(raw) if raw.strip() else None
                self.seen.append((scope["method"], scope["path"], body, message["status"]))
            await send(message)

        await self.app(scope, receive_and_keep, send_and_keep)


def test_the_real_sdk_deploys_and_the_server_keeps_its_manifest(tmp_path: Path) -> None:
    venv = ensure_sdk_venv("0.1.46")
    settings = make_settings(tmp_path / "server")
    user = seed_runtime_users(settings, ALICE)[ALICE]
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(APP_FILE, home / "app.py")
    recorder: list[Recorder] = []

    def wrap(app: ASGIApp) -> ASGIApp:
        recorder.append(Recorder(app))
        return recorder[0]

    with running_server(settings, wrap=wrap) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARA_", "OPENAI_", "PYTHONPATH"))}
        env = venv.environ(env | {"HOME": str(home), "ARA_API_BASE_URL": url, "ARA_API_KEY": user.key})

        def deploy() -> dict[str, Any]:
            done = subprocess.run(
                [str(venv.ara), "deploy", "app.py"], env=env, cwd=home, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, (done.stdout, done.stderr)
            printed: dict[str, Any] = json.loads(done.stdout)
            return printed

        first = deploy()
        headers = user.headers
        [row] = httpx.get(f"{url}/apps", headers=headers, timeout=30).json()["apps"]
        app_id = row["id"]
        seen = recorder[0].seen
        assert [(method, path) for method, path, _, _ in seen] == [
            ("GET", "/apps"),
            ("POST", "/apps"),
            ("PATCH", f"/apps/{app_id}"),
            ("POST", f"/apps/{app_id}/secrets"),
            ("GET", f"/apps/{app_id}/secrets"),
            ("POST", f"/apps/{app_id}/keys"),
            ("GET", "/apps"),  # ours, just above
        ]
        assert all(200 <= status < 300 for *_, status in seen), seen
        sent = seen[1][2]
        stored = httpx.get(f"{url}/apps/{app_id}", headers=headers, timeout=30).json()
        assert {name: stored[name] for name in sent} == sent
        assert (stored["status"], stored["version"]) == ("active", 1)
        assert first["ok"] is True and first["slug"] == "digest-bot"

        second = deploy()  # the app exists now: the whole manifest again through PATCH
        patched = [body for method, path, body, _ in seen[7:] if method == "PATCH"]
        assert len(patched) == 1 and "slug" not in patched[0]
        stored = httpx.get(f"{url}/apps/{app_id}", headers=headers, timeout=30).json()
        assert {name: stored[name] for name in sent} == sent  # same app file: the same manifest
        assert stored["version"] == 2
        assert [
            row["name"] for row in httpx.get(f"{url}/apps/{app_id}/secrets", headers=headers).json()["secrets"]
        ] == [seen[3][2]["name"]]

    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=True)) as session:
            box = SecretBox.from_settings(settings)
            assert secrets_store.secret_values(session, box, app_id)["API_TOKEN"] == "s3cret"
            for printed in (first, second):  # each deploy mints a key; both work as runtime keys
                assert keys.find_active(session, app_id, printed["runtime_key"], kind=keys.RUNTIME) is not None
    finally:
        engine.dispose()
