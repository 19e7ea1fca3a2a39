"""Open by default like ARA; read/write login settings; HTTP basic (cached after one verification) and bearer;
the caller is known before any body is read."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ara.clients.errors import Unauthorized
from ara.clients.http import AraHttpClient
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.settings import Settings
from ara.users import service as users
from tests.conftest import make_settings
from tests.support.server import running_server
from tests.web.conftest import csrf_of


def _with_users(settings: Settings, **roles: str) -> str:
    """``ops@example.org`` (operator, password ``s3cret``) plus ``name=role`` users (password ``pw``); returns a
    token of ``ops@example.org``."""
    engine = make_engine(settings)
    upgrade(engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        users.create_user(session, username="ops@example.org", password="s3cret", role="operator")
        for name, role in roles.items():
            users.create_user(session, username=name, password="pw", role=role)
        token = users.create_token(session, username="ops@example.org", name="ci")
    engine.dispose()
    return token


class BodyReads:
    """An ASGI wrapper in front of the app that counts, per request, the body messages the app received."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.reads: list[int] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        index = len(self.reads)
        self.reads.append(0)

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.reads[index] += 1
            return message

        await self.app(scope, counted, send)


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting verifications: the work the credential cache exists to save."""

    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 (argon2's own name)
        self.verified += 1
        return super().verify(hash, password)


# Until every route has a unique operation id (i10-typed-api), FastAPI warns while building /openapi.json.
openapi_warns = pytest.mark.filterwarnings("ignore:Duplicate Operation ID")


@openapi_warns
def test_open_by_default_but_a_wrong_password_is_refused(settings: Settings) -> None:
    _with_users(settings)
    with running_server(settings) as url:
        assert httpx.post(f"{url}/api/v1/labels", json={"name": "open"}).status_code == 201
        bad = httpx.get(f"{url}/api/v1/labels", auth=("ops@example.org", "wrong"))
        assert bad.status_code == 401 and bad.json() == {"detail": "Invalid username/password."}
        assert httpx.get(f"{url}/api/v1/labels", auth=("ops@example.org", "s3cret")).status_code == 200
        assert httpx.get(f"{url}/api").status_code == 200 and httpx.get(f"{url}/openapi.json").status_code == 200
        # Ara's own surfaces always need a login: the caller is checked before the (broken) body.
        anonymous = httpx.post(f"{url}/playbook/run", content=b"{oops")
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"


def test_write_login_required(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"write_login_required": True})
    token = _with_users(settings)
    with running_server(settings) as url:
        assert httpx.get(f"{url}/api/v1/playbooks").status_code == 200
        anonymous = httpx.post(f"{url}/api/v1/labels", json={"name": "x"})
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
        assert anonymous.headers["www-authenticate"].startswith("Basic")
        with AraHttpClient(endpoint=url, auth=("ops@example.org", "s3cret")) as basic:
            assert basic.post("/api/v1/labels", name="basic")["name"] == "basic"
        with AraHttpClient(endpoint=url, token=token) as bearer:
            assert bearer.post("/api/v1/labels", name="bearer")["name"] == "bearer"
        with AraHttpClient(endpoint=url, token="ara_not-a-token") as forged, pytest.raises(Unauthorized):
            forged.post("/api/v1/labels", name="nope")
        assert httpx.get(f"{url}/api/v1/labels").json()["count"] == 2


INDEXES = ("/api", "/api/", "/api/v1", "/api/v1/", "/api/v1/playbooks", "/openapi.json", "/docs", "/nowhere")


@openapi_warns
def test_read_login_required_covers_the_index_and_the_schema(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"read_login_required": True})
    _with_users(settings)
    with running_server(settings) as url:
        for path in INDEXES:
            anonymous = httpx.get(f"{url}{path}")
            assert anonymous.status_code == 401, (path, anonymous.status_code, anonymous.text)
            assert anonymous.headers["www-authenticate"].startswith("Basic"), path
            known = httpx.get(f"{url}{path}", auth=("ops@example.org", "s3cret"))
            assert known.status_code == (404 if path == "/nowhere" else 200), (path, known.text)
        assert httpx.get(f"{url}/healthcheck").status_code == 200  # liveness probes carry no credentials
        assert httpx.get(f"{url}/api/v1", auth=("ops@example.org", "wrong")).status_code == 401


def test_a_password_is_verified_once_then_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ARA issue 283: verifying argon2 on every request made callback runs 2-3x slower. Counted in work done
    (argon2 verifications), not wall-clock time, so a loaded machine cannot make it flaky."""
    settings = make_settings(tmp_path, auth={"write_login_required": True})
    _with_users(settings)
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    with running_server(settings) as url, AraHttpClient(endpoint=url, auth=("ops@example.org", "s3cret")) as client:
        for i in range(21):
            client.post("/api/v1/labels", name=f"label-{i}")
        assert hasher.verified == 1
        with AraHttpClient(endpoint=url, auth=("ops@example.org", "wrong")) as wrong, pytest.raises(Unauthorized):
            wrong.post("/api/v1/labels", name="no")
        assert hasher.verified == 2  # a wrong password is verified (and never cached)
        assert httpx.get(f"{url}/api/v1/labels").json()["count"] == 21


class LoopWatchingHasher(CountingHasher):
    """Counts the verifications that ran on a thread with a running event loop (the server's)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_event_loop = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 (argon2's own name)
        try:
            asyncio.get_running_loop()
            self.on_event_loop += 1
        except RuntimeError:
            pass
        return super().verify(hash, password)


def test_argon2_never_runs_on_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite an already verified password is checked on the event loop (one read, cheaper than a thread hop);
    a verification, about 50 ms of CPU, always goes to the threadpool: a new password, a wrong one, an unknown name."""
    settings = make_settings(tmp_path, auth={"write_login_required": True})
    _with_users(settings)
    hasher = LoopWatchingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    with running_server(settings) as url:
        statuses = [
            httpx.get(f"{url}/playbook/runs", params={"limit": 1}, auth=auth).status_code
            for auth in [("ops@example.org", "s3cret")] * 3 + [("ops@example.org", "wrong"), ("nobody@x.org", "pw")]
        ]
    assert statuses == [200, 200, 200, 401, 401]
    assert hasher.verified == 3  # the good password once (then cached), the wrong one, the unknown name's decoy
    assert hasher.on_event_loop == 0


def test_password_guessing_is_throttled_per_name_without_locking_out_logged_in_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After ``login_attempts`` wrong passwords for a name, its password is not checked (no argon2) until the window
    moves on: 429 with Retry-After, on the API and on the login form alike, for known and unknown names alike; a
    client whose password was verified before keeps working; other names are unaffected."""
    settings = make_settings(tmp_path, auth={"login_attempts": 3, "login_window_seconds": 600})
    _with_users(settings, viewer="viewer", other="viewer")
    hasher = CountingHasher()
    monkeypatch.setattr(users, "_hasher", hasher)
    runs = "/playbook/runs"

    def status(auth: tuple[str, str]) -> int:
        return http.get(runs, auth=auth).status_code

    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert status(("ops@example.org", "s3cret")) == 200  # verified, then cached
        assert [status(("ops@example.org", f"guess-{n}")) for n in range(3)] == [401, 401, 401]
        assert hasher.verified == 4
        refused = http.get(runs, auth=("ops@example.org", "guess-3"))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["retry-after"]) <= 600
        assert hasher.verified == 4  # refused without a verification
        assert status(("ops@example.org", "s3cret")) == 200  # the client verified before goes on
        assert status(("viewer", "pw")) == 200  # another name is checked as usual
        assert [status(("nobody@example.org", "pw")) for _ in range(4)] == [401, 401, 401, 429]
        # A new login of a guessed name waits, even with the right password: here through the login form.
        assert [status(("other", f"guess-{n}")) for n in range(3)] == [401, 401, 401]
        verified = hasher.verified
        form = {"username": "other", "password": "pw", "csrf_token": csrf_of(http.get("/ui/login").text)}
        page = http.post("/ui/login", data=form)
        assert page.status_code == 429 and "too many wrong passwords" in page.text, page.text[-500:]
        assert 0 < int(page.headers["retry-after"]) <= 600
        assert "ara_session" not in page.headers.get("set-cookie", "") and hasher.verified == verified


# Every write route, with bodies that would each be refused by validation (400/422) or the size limit (413).
WRITES = (
    ("POST", "/api/v1/labels"),
    ("PUT", "/api/v1/results/1"),
    ("PATCH", "/api/v1/playbooks/1"),
    ("DELETE", "/api/v1/playbooks/1"),
    ("POST", "/playbook/run"),
    ("POST", "/playbook"),
    ("PUT", "/playbook/some-id"),
    ("POST", "/playbook/some-id/params"),
    ("POST", "/playbook/some-id/permissions"),
    ("POST", "/playbook/run/approve/some-run"),
    ("POST", "/playbook/list"),
    ("POST", "/api/v1/catalog/configs"),
    ("PATCH", "/api/v1/catalog/configs/some-id"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/admin"),
)
BODIES: dict[str, dict[str, Any]] = {
    "malformed": {"content": b"{oops", "headers": {"content-type": "application/json"}},
    "wrong types": {"json": {"id": 5, "name": [1], "status": {"x": None}, "role": 3}},
    "not an object": {"json": [1, 2, 3]},
    "huge": {"content": b'{"name": "' + b"x" * (2 << 20) + b'"}', "headers": {"content-type": "application/json"}},
}
CALLERS: dict[str, dict[str, Any]] = {
    "anonymous": {},
    "wrong password": {"auth": ("ops@example.org", "wrong")},
    "unknown user": {"auth": ("nobody", "pw")},
    "forged token": {"headers": {"authorization": "Bearer ara_forged"}},
}


def test_unauthenticated_writes_are_refused_before_the_body_is_read(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auth={"write_login_required": True, "read_login_required": True})
    _with_users(settings, viewer="viewer")
    watch: list[BodyReads] = []

    def wrap(app: ASGIApp) -> BodyReads:
        watch.append(BodyReads(app))
        return watch[0]

    wrong: list[str] = []
    with running_server(settings, wrap=wrap) as url, httpx.Client(base_url=url, timeout=30) as http:
        for number, (method, path) in enumerate(WRITES):
            # Anonymous callers send every body, a forged token one of them in turn; a wrong password costs an
            # argon2 verification (a third of a second on a loaded machine), so it is tried on two routes only.
            cases = [("anonymous", name) for name in BODIES]
            cases.append(("forged token", list(BODIES)[number % len(BODIES)]))
            if (method, path) in (("POST", "/api/v1/labels"), ("POST", "/playbook/run")):
                cases += [("wrong password", "malformed"), ("unknown user", "huge")]
            for caller_name, body_name in cases:
                caller, body = CALLERS[caller_name], BODIES[body_name]
                headers = {**body.get("headers", {}), **caller.get("headers", {})}
                kwargs = {k: v for k, v in body.items() if k != "headers"}
                response = http.request(method, path, headers=headers, auth=caller.get("auth"), **kwargs)
                case = f"{caller_name} {method} {path} ({body_name}) -> {response.status_code}"
                if response.status_code != 401 or watch[0].reads[-1] != 0:
                    wrong.append(f"{case}, {watch[0].reads[-1]} body reads: {response.text[:120]}")
                elif path.startswith("/api/") and response.json().get("detail") is None:
                    wrong.append(f"{case}: no DRF detail {response.text[:120]}")
            # A viewer is known but may not write records: 403, also before the body.
            if path.startswith("/api/v1/") and "/catalog" not in path and "/users" not in path:
                refused = http.request(method, path, content=b"{oops", auth=("viewer", "pw"))
                if refused.status_code != 403 or watch[0].reads[-1] != 0:
                    wrong.append(f"viewer {method} {path} -> {refused.status_code}, {watch[0].reads[-1]} body reads")
        # The control: a known caller's body is read, and validated.
        known = http.post("/playbook/run", content=b"{oops", auth=("ops@example.org", "s3cret"))
        assert known.status_code == 400 and watch[0].reads[-1] >= 1, known.text
    assert not wrong, "\n".join(wrong)
