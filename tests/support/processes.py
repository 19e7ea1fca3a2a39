"""What the tests see of processes an action started (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``: empty once a kill reached all of them."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(stat.parent.name))
    return alive
