"""One search over every kind: parse the text, ask each kind the user may see for a bounded page, group the hits.
With several kinds each group shows its first few (``PREVIEW``) and a way to see all of one kind, page by page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ara.errors import ValidationFailed
from ara.search.app_runs import search_app_runs
from ara.search.paging import Page
from ara.search.playbooks import search_playbooks
from ara.search.results import search_results
from ara.search.runs import search_runs
from ara.search.syntax import APP, PLAYBOOK, RESULT, RUN, Query, parse
from ara.users.service import Identity

#: Hits per group when several kinds are searched at once.
PREVIEW = 10
MAX_PAGE = 1000
TITLES = {RESULT: "Failed results", PLAYBOOK: "Recorded playbooks", RUN: "Playbook runs", APP: "App runs"}
#: Kinds open where the records API is (``auth.read_login_required``); the others need a login.
RECORDS = (RESULT, PLAYBOOK)

Searcher = Callable[[Session, Query, Identity | None, int, int], Page]
SEARCHERS: dict[str, Searcher] = {
    RESULT: lambda session, query, _identity, limit, offset: search_results(session, query, limit=limit, offset=offset),
    PLAYBOOK: lambda session, query, _identity, limit, offset: search_playbooks(
        session, query, limit=limit, offset=offset
    ),
    RUN: lambda session, query, identity, limit, offset: search_runs(
        session, query, identity, limit=limit, offset=offset
    ),
    APP: lambda session, query, identity, limit, offset: search_app_runs(
        session, query, identity, limit=limit, offset=offset
    ),
}


@dataclass(frozen=True)
class Group:
    kind: str
    title: str
    page: Page
    number: int  # the page shown, from 1
    size: int

    @property
    def more(self) -> bool:
        return self.page.capped or self.page.total > len(self.page.hits) + (self.number - 1) * self.size


@dataclass(frozen=True)
class Outcome:
    query: Query
    groups: list[Group]
    #: Kinds left out because nobody is logged in (runs and app runs need a login; results follow the records rule).
    need_login: tuple[str, ...]


def page_number(raw: str | None) -> int:
    if raw is None or raw == "":
        return 1
    try:
        number = int(raw)
    except ValueError:
        raise ValidationFailed({"page": ["Enter a whole number."]}) from None
    if not 1 <= number <= MAX_PAGE:
        raise ValidationFailed({"page": [f"Pages go from 1 to {MAX_PAGE}."]})
    return number


def search(session: Session, text: str, identity: Identity | None, *, page_size: int, page: int = 1) -> Outcome:
    """``ValidationFailed`` (field ``q``) for a query that cannot be read."""
    query = parse(text)
    single = len(query.kinds) == 1
    size = page_size if single else PREVIEW
    number = page if single else 1
    groups: list[Group] = []
    hidden: list[str] = []
    for kind in query.kinds:
        if identity is None and kind not in RECORDS:
            hidden.append(kind)
            continue
        found = SEARCHERS[kind](session, query, identity, size, (number - 1) * size)
        title = "Results" if kind == RESULT and query.status else TITLES[kind]
        groups.append(Group(kind, title, found, number, size))
    return Outcome(query, groups, tuple(hidden))
