"""The artifact store on fsspec URLs: the same behaviour on a local directory and on a second real filesystem
(``memory://``, shared by the test and the server it runs in this process), and a bad URL refused at start."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.registry import known_implementations

from ara.errors import ConfigError, NotFound
from ara.playbooks.artifact_url import SETTING, artifacts_url, open_store
from ara.playbooks.artifacts import ArtifactStore
from ara.playbooks.models import Artifact
from tests.conftest import make_settings
from tests.support.databases import fresh_postgres_database
from tests.support.mission import mission_control
from tests.support.server import free_port
from tests.support.workers import ARA, WorkerProcess

KEY = "qLXAHCBlVO4n6R8qONDu8k0tJG-dc65oiAMAF6n7UHc="

PRODUCE = """
actions:
  - name: produce
    exec:
      script: |
        echo "same words every run"
        head -c 2500000 /dev/urandom > blob.bin
      artifacts: [{path: /dev/stdout}, {path: "*.bin"}]
"""


@pytest.fixture(params=["file", "memory"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "file":
        yield f"file://{tmp_path / 'store'}"
        return
    url = f"memory://ara-test-{uuid.uuid4().hex}/artifacts"
    yield url
    fs, root = fsspec.url_to_fs(url)
    if fs.exists(root):
        fs.rm(root, recursive=True)


def objects(store: ArtifactStore) -> list[str]:
    """Every file under the store's root, temporary ones included."""
    return sorted(store.fs.find(store.root)) if store.fs.exists(store.root) else []


def stored(sha256: str, artifact_id: str = "a1") -> Artifact:
    return Artifact(id=artifact_id, sha256=sha256, filename="f", size=0)


def test_content_is_kept_once_and_read_back(store_url: str, tmp_path: Path) -> None:
    store = open_store(make_settings(tmp_path, engine={"artifacts_url": store_url}))
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one 1 MiB chunk each way
    sources = {name: tmp_path / name for name in ("a.bin", "b.bin", "c.txt")}
    sources["a.bin"].write_bytes(big)
    sources["b.bin"].write_bytes(big)
    sources["c.txt"].write_bytes(b"hello\n")

    digests = {name: store.save(path) for name, path in sources.items() if name != "b.bin"}
    first = store.fs.info(store.path(digests["a.bin"].sha256))
    time.sleep(0.01)
    digests["b.bin"] = store.save(sources["b.bin"])

    assert digests["a.bin"] == digests["b.bin"]
    assert store.fs.info(store.path(digests["b.bin"].sha256)) == first  # known content is not written again
    assert digests["a.bin"].sha256 == hashlib.sha256(big).hexdigest() and digests["a.bin"].size == len(big)
    expected = sorted(store.path(d.sha256) for d in {digests["a.bin"], digests["c.txt"]})
    assert objects(store) == expected  # one object per content, no temporary file left
    with store.open(stored(digests["a.bin"].sha256)) as handle:
        assert handle.read() == big
    copy = tmp_path / "copy.bin"
    store.copy_to(stored(digests["c.txt"].sha256), copy)
    assert copy.read_bytes() == b"hello\n"


def test_missing_or_malformed_content_is_not_found(store_url: str, tmp_path: Path) -> None:
    store = open_store(make_settings(tmp_path, engine={"artifacts_url": store_url}))
    (tmp_path / "secret").write_text("not in the store")
    (tmp_path / "kept.txt").write_text("in the store")
    store.save(tmp_path / "kept.txt")  # the store's directory exists, as on any server that ran something
    absent = hashlib.sha256(b"never stored").hexdigest()
    outside = "/../secret"  # <root>/<[:2]>/<all>: tmp/store//.//../secret, the file beside the store
    if store.is_local:
        assert os.path.isfile(os.path.normpath(f"{store.root}/{outside[:2]}/{outside}"))
    for sha256 in (absent, outside, absent.upper(), absent[:-1] + "/"):
        missing = "artifact a1 content is missing from the store"
        with pytest.raises(NotFound, match=missing):
            store.open(stored(sha256))
        with pytest.raises(NotFound, match=missing):
            store.copy_to(stored(sha256), tmp_path / "out")
        if store.is_local:
            with pytest.raises(NotFound, match=missing):
                store.local_path(stored(sha256))


def test_the_url_defaults_to_a_local_directory_and_keeps_the_old_setting(tmp_path: Path) -> None:
    assert artifacts_url(make_settings(tmp_path)) == f"file://{tmp_path / 'artifacts'}"
    old = make_settings(tmp_path, engine={"artifacts_dir": str(tmp_path / "old")})
    assert artifacts_url(old) == f"file://{tmp_path / 'old'}"
    store = open_store(make_settings(tmp_path))
    assert store.is_local and store.root == str(tmp_path / "artifacts")
    both = make_settings(tmp_path, engine={"artifacts_dir": "/x", "artifacts_url": "file:///y"})
    with pytest.raises(ConfigError, match="ARA_ENGINE__ARTIFACTS_DIR is its deprecated alias"):
        open_store(both)


def a_protocol_not_installed() -> str:
    """A protocol fsspec knows whose package this environment lacks (s3 without s3fs, ...)."""
    for protocol in sorted(known_implementations):
        try:
            fsspec.get_filesystem_class(protocol)
        except ImportError:
            return protocol
    pytest.skip("every fsspec backend is installed here")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("nope://user:hunter2@host/artifacts", "Protocol not known: nope"),
        ("file://relative/artifacts", "absolute path"),
        ("MISSING://bucket/prefix", "not installed"),
    ],
)
def test_a_bad_url_is_a_config_error_naming_the_setting(url: str, reason: str, tmp_path: Path) -> None:
    url = url.replace("MISSING", a_protocol_not_installed())
    with pytest.raises(ConfigError) as refused:
        open_store(make_settings(tmp_path, engine={"artifacts_url": url}))
    assert refused.value.message.startswith(f"{SETTING}=") and reason in refused.value.message
    assert "hunter2" not in refused.value.message


# ``ara worker`` gets as far as the store only on PostgreSQL with a key; it refuses before connecting (port 1).
WORKER_ENV = {"ARA_DATABASE__URL": "postgresql://ara@127.0.0.1:1/ara", "ARA_SECRET_KEY": KEY}


@pytest.mark.parametrize("command", ["server", "worker"])
@pytest.mark.parametrize("url", ["nope://bucket/x", "MISSING://bucket/prefix", "file://relative"])
def test_ara_server_and_worker_refuse_to_start_on_a_bad_url(command: str, url: str, tmp_path: Path) -> None:
    url = url.replace("MISSING", a_protocol_not_installed())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARA_")}
    env.update(ARA_BASE_DIR=str(tmp_path), ARA_ENGINE__ARTIFACTS_URL=url, **(WORKER_ENV if command == "worker" else {}))
    argv = [*ARA, command, *(["--port", str(free_port())] if command == "server" else [])]
    refused = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert f"Error: {SETTING}={url}" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "ansible.sqlite").exists()  # refused before a database was touched


def test_runs_store_and_serve_artifacts_through_the_server(store_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, engine={"artifacts_url": store_url})
    store = open_store(settings)
    with mission_control(settings) as mission:
        playbook_id = mission.define("produce", PRODUCE)
        run_ids = [mission.run(playbook_id) for _ in range(2)]
        listed = []
        for run_id in run_ids:
            assert mission.wait(run_id)["status"] == "completed"
            listed += mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
        assert len(listed) == 4
        for artifact in listed:
            download = mission.http.get(f"/artifacts/download/{artifact['id']}", params={"filename": "ça va.txt"})
            assert download.status_code == 200, download.text
            assert hashlib.sha256(download.content).hexdigest() == artifact["checksum"]
            assert int(download.headers["content-length"]) == artifact["size"] == len(download.content)
            assert download.headers["content-disposition"] == "attachment; filename*=utf-8''%C3%A7a%20va.txt"
            assert ("accept-ranges" in download.headers) == store.is_local  # file://: served from the path itself
        # Both runs printed the same words: two rows, one object.
        checksums = {a["checksum"] for a in listed}
        assert len(checksums) == 3
        assert objects(store) == sorted(f"{store.root}/{c[:2]}/{c}" for c in checksums)  # the documented layout
        assert not (tmp_path / "artifacts").exists()

        gone = next(a for a in listed if a["path"] == "blob.bin")
        store.fs.rm_file(store.path(gone["checksum"]))
        missing = mission.http.get(f"/artifacts/download/{gone['id']}")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == f"artifact {gone['id']} content is missing from the store"


def test_a_store_that_fails_fails_the_action_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("the store's directory cannot be made under a file")
    settings = make_settings(tmp_path, engine={"artifacts_url": f"file://{tmp_path / 'a-file' / 'store'}"})
    with mission_control(settings) as mission:
        run_id = mission.run(mission.define("produce", PRODUCE))
        run = mission.wait(run_id)
        assert run["status"] == "failed", run
        [action] = mission.status(run_id)["actions"]
        assert action["status"] == "failed"
        assert action["error"].startswith("artifact /dev/stdout could not be stored: NotADirectoryError"), action
        assert mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json() == []


@pytest.mark.postgres
def test_a_worker_with_a_home_of_its_own_stores_what_the_api_host_serves(tmp_path: Path) -> None:
    """The reason for the URL: an API-only host (``ARA_ENGINE__WORKERS=0``) serves what a real ``ara worker``
    elsewhere (its own base directory) produced, because both name one store."""
    url = f"file://{tmp_path / 'shared'}"
    with fresh_postgres_database() as database:
        engine = {"workers": 0, "artifacts_url": url}
        settings = make_settings(tmp_path / "api", database, secret_key=KEY, engine=engine)
        with mission_control(settings) as mission:
            worker = WorkerProcess(settings, tmp_path / "worker", ARA_ENGINE__ARTIFACTS_URL=url)
            try:
                worker.wait_registered(4)  # the server's clock; the worker's runs, agents and clock
                run_id = mission.run(mission.define("produce", PRODUCE))
                assert mission.wait(run_id, timeout=60)["status"] == "completed"
                listed = mission.http.get(f"/artifacts/list/playbook_run/{run_id}").json()
                assert sorted(a["path"] for a in listed) == ["/dev/stdout", "blob.bin"]
                for artifact in listed:
                    download = mission.http.get(f"/artifacts/download/{artifact['id']}")
                    assert download.status_code == 200, download.text
                    assert hashlib.sha256(download.content).hexdigest() == artifact["checksum"]
                    assert (tmp_path / "shared" / artifact["checksum"][:2] / artifact["checksum"]).is_file()
            finally:
                worker.kill()
    assert not (tmp_path / "api" / "artifacts").exists() and not (tmp_path / "worker" / "artifacts").exists()
