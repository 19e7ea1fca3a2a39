"""The executor protocol: how the API hands runs to whatever executes them.

The API only writes a run row (in the same transaction as everything else about it) and calls ``wake``; an
executor claims due rows with a row lock and runs them. ``Worker`` is the implementation: in the server
process (the embedded default) and in ``ara worker`` processes on any machine sharing a PostgreSQL database,
where ``SELECT ... FOR UPDATE SKIP LOCKED`` gives each due run to exactly one of them.
"""

from __future__ import annotations

from typing import Protocol


class Executor(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None:
        """Something became due (a run was created or approved): look now rather than at the next poll."""
