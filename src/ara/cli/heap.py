"""The collector's settings for a long-lived process (``ara server``, ``ara worker``), applied once start-up is
done. Python's defaults suit short scripts: a collection every 700 new container objects, each walking every young
object still alive. A server allocates thousands per request or run (ORM rows, request objects) that die within
it, so collecting less often finds almost all of them already freed by reference counting, and the start-up heap
(modules, the app, its models) is frozen out of every full collection."""

from __future__ import annotations

import gc

#: Young objects between collections (Python's default is 700): a few runs' or requests' worth.
YOUNG_THRESHOLD = 20_000


def settle() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
