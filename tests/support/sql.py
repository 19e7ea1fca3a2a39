"""What SQL the server sends, for tests that assert on it: every statement through both of a database's engines
(reads and writes), and each transaction's begin as the statement SQLite runs for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from ara.db.session import write_engine


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[tuple[str, str, str]]]:
    """(thread name, statement, parameters) while the block runs; a transaction's begin is ``BEGIN IMMEDIATE`` on
    SQLite's writing engine, ``BEGIN`` otherwise."""
    seen: list[tuple[str, str, str]] = []
    writer = write_engine(engine)
    engines = [engine] if writer is engine else [engine, writer]

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((threading.current_thread().name, statement, repr(parameters)))

    def began(source: Engine) -> Any:
        immediate = source is writer and writer is not engine

        def begin(_conn: Any) -> None:
            seen.append((threading.current_thread().name, "BEGIN IMMEDIATE" if immediate else "BEGIN", "()"))

        return begin

    listeners = [(e, "before_cursor_execute", record) for e in engines] + [(e, "begin", began(e)) for e in engines]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield seen
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
