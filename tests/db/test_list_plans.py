"""Lists of runs are read a page at a time, newest first: SQLite reads them through an index in that order
instead of sorting every matching run at each request (which on 100,000 runs cost 96 ms a page)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from ara.apps.listing import page_of_runs
from ara.db.migrate import upgrade
from ara.db.session import make_engine, make_sessionmaker, unit_of_work
from ara.playbooks.runs import list_runs
from tests.conftest import make_settings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(make_settings(tmp_path))  # SQLite: its plans are what is read here
    upgrade(engine)
    yield engine
    engine.dispose()


def plans(engine: Engine, read: Callable[[Session], Any]) -> list[str]:
    """The query plan of each SELECT that ``read`` makes, as SQLite's EXPLAIN QUERY PLAN details."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with unit_of_work(make_sessionmaker(engine, write=False)) as session:
            read(session)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    with engine.connect() as connection:
        return [
            " / ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
            for sql, params in statements
        ]


UNFINISHED = ["scheduled", "running"]


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s: list_runs(s, limit=20), id="all runs"),
        pytest.param(lambda s: list_runs(s, playbook_id="p", limit=20, offset=40), id="one playbook's"),
        pytest.param(lambda s: list_runs(s, playbook_id="p", statuses=UNFINISHED, limit=1), id="a client's poll"),
        pytest.param(lambda s: page_of_runs(s, "app", page=3, size=20), id="an app's page"),
    ],
)
def test_a_page_of_runs_is_read_in_index_order_not_sorted(engine: Engine, read: Callable[[Session], Any]) -> None:
    found = plans(engine, read)
    assert found
    for plan in found:  # each SELECT (an app's page also counts its runs) goes through an index, and sorts nothing
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
