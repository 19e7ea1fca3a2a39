"""The search over recorded results on both databases: what "failed" means, filters, literal words, newest-first
pages and a count that stops at its cap instead of counting a whole table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from ara.clients.offline import AraOfflineClient
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.search import paging
from ara.search.service import PREVIEW, search
from ara.settings import Settings
from ara.users.service import Identity
from tests.support.factories import record_playbook

ALICE = Identity(1, "alice", "operator")
TASKS = (("install", "ok"), ("configure", "failed"), ("restart", "ignored"), ("reach", "unreachable"))


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    client = AraOfflineClient(settings=settings)
    try:
        record_playbook(client, path="/srv/prod.yml", labels=("prod",), hosts=("web1", "web2"), tasks=TASKS)
        record_playbook(client, path="/srv/lab.yml", labels=("lab",), hosts=("lab1",), tasks=TASKS, status="failed")
        record_playbook(client, path="playbook-run://nightly", hosts=("localhost",), tasks=(), status="failed")
    finally:
        client.close()
    engine = make_engine(settings)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as opened:
            yield opened
    finally:
        engine.dispose()


def _results(session: Session, q: str, *, page_size: int = 50, page: int = 1) -> list[tuple[str, str, str]]:
    outcome = search(session, q, ALICE, page_size=page_size, page=page)
    group = next(group for group in outcome.groups if group.kind == "result")
    return [(hit["title"], hit["host"], hit["status"]) for hit in group.page.hits]


def test_failed_means_failed_or_unreachable_and_not_ignored(session: Session) -> None:
    found = _results(session, "kind:result")
    assert {title for title, _, _ in found} == {"configure", "reach"}
    assert len(found) == 6  # two tasks on three hosts
    assert {title for title, _, _ in _results(session, "status:ignored")} == {"restart"}
    assert {status for _, _, status in _results(session, "status:changed")} == set()
    assert {title for title, _, _ in _results(session, "status:ok")} == {"install"}


def test_label_host_and_words_narrow_the_results(session: Session) -> None:
    assert {host for _, host, _ in _results(session, "label:PROD")} == {"web1", "web2"}
    assert _results(session, "host:web2 configure") == [("configure", "web2", "failed")]
    assert {title for title, _, _ in _results(session, "prod.yml")} == {"configure", "reach"}
    assert _results(session, "con%") == [] and _results(session, "c_nfigure") == []  # LIKE's wildcards are literal


def test_pages_are_newest_first_and_counts_stop_at_the_cap(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    first = search(session, "kind:result", ALICE, page_size=4, page=1).groups[0]
    second = search(session, "kind:result", ALICE, page_size=4, page=2).groups[0]
    assert (first.page.total, first.page.capped, first.more) == (6, False, True)
    assert (len(second.page.hits), second.more) == (2, False)
    ids = [hit["id"] for hit in first.page.hits + second.page.hits]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    capped = search(session, "kind:result", ALICE, page_size=2).groups[0]
    assert (capped.page.total, capped.page.capped, capped.more) == (3, True, True)


def test_several_kinds_show_a_preview_of_each(session: Session) -> None:
    outcome = search(session, "", ALICE, page_size=2)
    assert [group.kind for group in outcome.groups] == ["result", "playbook", "run", "app"]
    assert all(group.size == PREVIEW for group in outcome.groups)
    assert outcome.need_login == ()
    assert search(session, "", None, page_size=2).need_login == ("run", "app")


def test_recorded_playbooks_leave_aras_own_runs_to_their_groups(session: Session) -> None:
    def paths(q: str) -> list[str]:
        group = search(session, q, ALICE, page_size=50).groups[0]
        return [hit["path"] for hit in group.page.hits]

    assert paths("kind:playbook") == ["/srv/lab.yml", "/srv/prod.yml"]
    assert paths("kind:playbook status:failed") == ["/srv/lab.yml"]
    assert paths("kind:playbook host:web") == ["/srv/prod.yml"]
    assert paths("kind:playbook label:lab lab.yml") == ["/srv/lab.yml"]
    assert paths("kind:playbook nightly") == []
