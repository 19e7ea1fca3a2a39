"""SSH into a session, end to end: a real server, ``POST /session/connect/token``, ``ara connect`` (ours, and the
real ara-sdk 0.1.46 CLI) with HOME in a temporary directory, then Debian's OpenSSH client through the written
``ara-personal`` entry, its ``ProxyCommand`` carrying SSH over the ``/session/ssh/proxy`` WebSocket into the
in-process SSH server, which runs each command in the session's bubblewrap sandbox."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from sqlalchemy import update

from ara.cli.ssh_files import upsert_host_block
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.db.types import utcnow
from ara.runtime.connect import digest
from ara.runtime.models import ConnectToken, RuntimeSession
from ara.runtime.sessions import stop_session
from ara.runtime.ssh import HOST_KEY_NAME, load_host_key
from ara.settings import Settings
from tests.conftest import make_settings
from tests.support.runtime_sessions import SessionUser, session_users
from tests.support.sdk_venv import ensure_sdk_venv
from tests.support.server import running_server
from tests.support.venvs import clean_environ

OUR_ARA = [sys.executable, "-c", "from ara.cli.main import main; main()"]
pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs Debian's openssh-client")


class World(NamedTuple):
    url: str
    settings: Settings
    alice: SessionUser
    bob: SessionUser
    carol: SessionUser  # her session is stopped by a test


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # Open connections check their session every 0.3 s here (30 s by default).
    settings = make_settings(tmp_path_factory.mktemp("ssh") / "server", runtime={"ssh_check_seconds": 0.3})
    users = session_users(settings, *(f"{name}@example.org" for name in ("alice", "bob", "carol")))
    with running_server(settings) as url:
        yield World(url, settings, *users.values())


def connect_uri(world: World, user: SessionUser) -> str:
    answer = httpx.post(f"{world.url}/session/connect/token", json={}, headers=user.headers)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["uri"] == f"ara://connect?token={body['token']}" and body["session_id"] == user.session_id
    return str(body["uri"])


def user_env(world: World, user: SessionUser, home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    return {**os.environ, "HOME": str(home), "ARA_API_BASE_URL": world.url, "ARA_API_KEY": user.token}


def ssh(
    home: Path, env: Mapping[str, str], *args: str, stdin: bytes = b"", config: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    config = config or home / ".ssh" / "config"
    argv = ["ssh", "-F", str(config), "-o", "BatchMode=yes", *args]
    return subprocess.run(argv, input=stdin, env=dict(env), capture_output=True, timeout=60)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_our_connect_then_openssh_runs_commands_in_the_sandbox(world: World, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = user_env(world, world.alice, home)
    uri = connect_uri(world, world.alice)
    done = subprocess.run([*OUR_ARA, "connect", uri], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["host_alias"] == "ara-personal" and printed["session_id"] == world.alice.session_id
    assert printed["commands"]["ssh"] == "ssh ara-personal"
    key, token_file, config = (
        Path(printed["private_key_path"]),
        Path(printed["proxy_token_file"]),
        home / ".ssh" / "config",
    )
    assert key.parent == home / ".ara" / "ssh" and mode(key.parent) == 0o700
    assert mode(key) == mode(token_file) == mode(config) == 0o600
    assert "Host ara-personal" in config.read_text() and f"--token-file {token_file}" in config.read_text()

    wrote = ssh(home, env, "ara-personal", "echo hi > f.txt")
    assert wrote.returncode == 0, wrote.stderr
    assert world.alice.workspace is not None
    assert (world.alice.workspace.workspace_dir / "f.txt").read_text() == "hi\n"

    # stdin, stdout, stderr and the exit status pass through; the command runs in the sandbox, where the session
    # is /root/.ara and the server's own directory (database, host key, other sessions) does not exist.
    base = world.settings.base_dir
    script = (
        f"cat; pwd; ls {base} || echo hidden; cat {base}/ssh_host_ed25519_key; ls /root/.ara; echo oops >&2; exit 3"
    )
    piped = ssh(home, env, "ara-personal", script, stdin=b"x" * 100_000)
    assert piped.returncode == 3 and piped.stderr.endswith(b"oops\n")
    assert b"ssh_host_ed25519_key" in piped.stderr and b"PRIVATE KEY" not in piped.stdout
    lines = piped.stdout.split(b"\n")
    assert lines == [b"x" * 100_000 + b"/root/.ara/workspace", b"hidden", b"memory", b"workspace", b""]
    assert mode(base / "ssh_host_ed25519_key") == 0o600

    # A terminal: an interactive shell in the sandbox, its exit status passed on.
    shell = ssh(home, env, "-tt", "ara-personal", stdin=b"echo $((6 * 7)); exit 5\n")
    assert shell.returncode == 5 and b"42" in shell.stdout

    # A reused connect token is refused (409) with the server's reason, on one line, exit 2.
    again = subprocess.run([*OUR_ARA, "connect", uri], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "409" in again.stderr and "already used" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    # Another key than the one exchanged is refused by the SSH server.
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = tmp_path / "wrong_config"
    wrong.write_text(config.read_text().replace(str(key), str(other)))
    refused = ssh(home, env, "ara-personal", "touch intruder", config=wrong)
    assert refused.returncode == 255 and b"Permission denied" in refused.stderr
    assert not (world.alice.workspace.workspace_dir / "intruder").exists()

    # A wrong proxy token never reaches SSH: the WebSocket is refused (401), said on stderr, exit 2.
    bad = subprocess.run([*OUR_ARA, "ssh-proxy", "--token", "nope"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "401" in bad.stderr and bad.stdout == ""


def test_the_real_ara_sdk_0_1_46_connect_and_ssh_proxy(world: World, tmp_path: Path) -> None:
    venv = ensure_sdk_venv("0.1.46")
    home = tmp_path / "home"
    home.mkdir()
    env = venv.environ(
        clean_environ(), HOME=str(home), ARA_API_BASE_URL=world.url, ARA_API_KEY=world.bob.token
    )  # its `ara` first on PATH: the ProxyCommand is `ara ssh-proxy`
    done = subprocess.run(
        [str(venv.ara), "connect", connect_uri(world, world.bob)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["session_id"] == world.bob.session_id
    ran = ssh(home, env, "ara-personal", "echo from-sdk > sdk.txt && cat sdk.txt")
    assert ran.returncode == 0 and ran.stdout == b"from-sdk\n", ran.stderr
    assert world.bob.workspace is not None
    assert (world.bob.workspace.workspace_dir / "sdk.txt").read_text() == "from-sdk\n"


def test_exchange_refusals(world: World, tmp_path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    public = (tmp_path / "k.pub").read_text()

    def exchange(user: SessionUser, token: str, key: str = public) -> httpx.Response:
        body = {"token": token, "public_key": key, "key_comment": "test"}
        return httpx.post(f"{world.url}/session/connect/exchange", json=body, headers=user.headers)

    alices = connect_uri(world, world.alice).split("token=", 1)[1]
    # Another user's token is as unknown as a wrong one, and it stays unspent for its owner.
    assert exchange(world.bob, alices).status_code == 401
    assert exchange(world.alice, "not-a-token").status_code == 401
    bad_key = exchange(world.alice, alices, "ssh-ed25519 not-base64")
    assert bad_key.status_code == 400 and "public_key" in bad_key.json()["error"]["detail"]
    missing = httpx.post(f"{world.url}/session/connect/exchange", json={"token": alices}, headers=world.alice.headers)
    assert missing.status_code == 400 and "public_key" in missing.json()["error"]["detail"]

    expired = connect_uri(world, world.alice).split("token=", 1)[1]
    engine = make_engine(world.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            session.execute(
                update(ConnectToken).where(ConnectToken.token_sha256 == digest(expired)).values(expires_at=utcnow())
            )
    finally:
        engine.dispose()
    assert exchange(world.alice, expired).status_code == 410

    granted = exchange(world.alice, alices)
    assert granted.status_code == 200 and granted.json()["host_alias"] == "ara-personal"
    assert exchange(world.alice, alices).status_code == 409
    assert httpx.post(f"{world.url}/session/connect/token", json={}).status_code == 401


def test_stopping_the_session_ends_its_ssh_connections(world: World, tmp_path: Path) -> None:
    venv = ensure_sdk_venv("0.1.46")  # its ssh-proxy starts faster than ours (no CLI framework to import)
    home = tmp_path / "home"
    home.mkdir()
    env = venv.environ(clean_environ(), HOME=str(home), ARA_API_BASE_URL=world.url, ARA_API_KEY=world.carol.token)
    done = subprocess.run([str(venv.ara), "connect", connect_uri(world, world.carol)], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert world.carol.workspace is not None
    started = world.carol.workspace.workspace_dir / "started"
    argv = ["ssh", "-F", str(home / ".ssh" / "config"), "ara-personal", "touch started; sleep 61.7"]
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as running:
        deadline = time.monotonic() + 30
        while not (started.exists() and sleeping()):
            assert running.poll() is None and time.monotonic() < deadline, running.communicate()
            time.sleep(0.05)
        engine = make_engine(world.settings)
        try:
            with unit_of_work(make_sessionmaker(engine)) as session:
                stop_session(session.get_one(RuntimeSession, world.carol.session_id), "stopped by the test")
        finally:
            engine.dispose()
        stopped_at = time.monotonic()
        assert running.wait(timeout=15) == 255
        assert time.monotonic() - stopped_at < 5
    # The command died with the connection (no process of it is left); the proxy token no longer opens one.
    deadline = time.monotonic() + 5
    while sleeping() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sleeping()
    again = ssh(home, env, "ara-personal", "true")
    assert again.returncode == 255 and b"HTTP 401" in again.stderr


def sleeping() -> bool:
    """Whether the stopped session's ``sleep 61.7`` still runs anywhere on this machine."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\x0061.7\x00":
                return True
        except OSError:
            continue
    return False


def test_the_host_key_is_made_once_and_kept(tmp_path: Path) -> None:
    """Clients see one host key across restarts; servers starting at once agree on it."""
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: load_host_key(tmp_path).public_data, range(8)))
    assert len(set(keys)) == 1 and load_host_key(tmp_path).public_data == keys[0]
    assert [path.name for path in tmp_path.iterdir()] == [HOST_KEY_NAME]
    assert mode(tmp_path / HOST_KEY_NAME) == 0o600


def test_typing_keeps_the_session_in_use(world: World, tmp_path: Path) -> None:
    """An open connection marks its session used when the client sent something since the last check, so a
    shell in use is not stopped as idle; a silent one is not kept alive by its connection alone."""
    venv = ensure_sdk_venv("0.1.46")
    home = tmp_path / "home"
    home.mkdir()
    env = venv.environ(clean_environ(), HOME=str(home), ARA_API_BASE_URL=world.url, ARA_API_KEY=world.bob.token)
    done = subprocess.run([str(venv.ara), "connect", connect_uri(world, world.bob)], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    argv = ["ssh", "-F", str(home / ".ssh" / "config"), "ara-personal", "cat"]
    with subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as running:
        assert running.stdin is not None and running.stdout is not None
        running.stdin.write(b"ready\n")
        running.stdin.flush()
        assert running.stdout.readline() == b"ready\n"
        time.sleep(0.7)  # two checks without input
        silent = last_active(world, world.bob)
        time.sleep(0.7)
        assert last_active(world, world.bob) == silent
        for _ in range(10):
            running.stdin.write(b"typing\n")
            running.stdin.flush()
            assert running.stdout.readline() == b"typing\n"
            time.sleep(0.1)
        assert last_active(world, world.bob) > silent
        running.stdin.close()
        assert running.wait(timeout=15) == 0


def last_active(world: World, user: SessionUser) -> dt.datetime:
    engine = make_engine(world.settings)
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            return session.get_one(RuntimeSession, user.session_id).last_active_at
    finally:
        engine.dispose()


def test_the_host_entry_replaces_its_old_self_and_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / ".ssh" / "config"
    config.parent.mkdir()
    config.write_text("Host a\n  User x\n\nHost ara-personal\n  User old\n\nMatch host b\n  User y\n")
    upsert_host_block("ara-personal", "Host ara-personal\n  User root")
    expected = "Host a\n  User x\n\nHost ara-personal\n  User root\n\nMatch host b\n  User y\n"
    assert config.read_text() == expected and mode(config) == 0o600
    upsert_host_block("ara-personal", "Host ara-personal\n  User root")
    assert config.read_text() == expected
    upsert_host_block("other", "Host other\n  User z")
    assert config.read_text() == expected + "\nHost other\n  User z\n"
