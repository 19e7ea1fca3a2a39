"""NUL characters in a UI form field or query parameter (PostgreSQL cannot store or compare them in text) are a
400 page naming the field, never a 500: against a real server on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.support.server import running_server
from tests.web.accounts_support import ui_client
from tests.web.conftest import Site, add_users, csrf_of

#: (path, form) posted by a logged-in operator; each form has a NUL in the field named first.
FORMS = [
    ("/ui/account/keys", {"name": "key\x00"}),
    ("/ui/chat/turn", {"chat_id": "c\x00", "message": "hi"}),
    ("/ui/runs/definitions/0", {"resource": "a\x00"}),
]
#: Query strings with a NUL in the parameter named first.
QUERIES = [
    ("/ui/runs", {"resource": "\x00"}),
    ("/ui/runs", {"playbook": "\x00"}),
    ("/ui/chat", {"chat": "\x00"}),
    ("/ui/search", {"q": "a\x00b"}),
]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from tests.support.databases import fresh_postgres_database

    base = tmp_path_factory.mktemp("nul")
    if request.param == "sqlite":
        settings = make_settings(base)
        add_users(settings)
        with running_server(settings) as url:
            yield Site(url, settings)
        return
    with fresh_postgres_database() as database:
        settings = make_settings(base, database)
        add_users(settings)
        with running_server(settings) as url:
            yield Site(url, settings)


def _is_400_page(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")
    assert field in answer.text


def test_a_nul_in_the_login_form_is_a_400_page(any_site: Site) -> None:
    with httpx.Client(base_url=any_site.url, timeout=30) as client:
        token = csrf_of(client.get("/ui/login").text)
        answer = client.post("/ui/login", data={"username": "ali\x00ce", "password": "x", "csrf_token": token})
    _is_400_page(answer, "username")


@pytest.mark.parametrize(("path", "form"), FORMS, ids=[path for path, _ in FORMS])
def test_a_nul_in_a_form_field_is_a_400_page(any_site: Site, path: str, form: dict[str, str]) -> None:
    with ui_client(any_site, "alice") as (client, csrf):
        answer = client.post(path, data={**form, "csrf_token": csrf})
    _is_400_page(answer, next(iter(form)))


@pytest.mark.parametrize(("path", "params"), QUERIES, ids=[f"{p}?{next(iter(q))}" for p, q in QUERIES])
def test_a_nul_in_a_query_parameter_is_a_400_page(any_site: Site, path: str, params: dict[str, str]) -> None:
    with ui_client(any_site, "alice") as (client, _csrf):
        answer = client.get(path, params=params)
    _is_400_page(answer, next(iter(params)))
