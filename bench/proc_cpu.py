"""CPU seconds a server process spent: a figure the load of a shared machine hardly moves, unlike wall time.

The servers of the benchmarks are this process's children (``subprocess.Popen`` in ``bench/run.py``), each one
process (uvicorn in ``ara server``, ``ara-manage runserver --noreload``); ``/proc`` names them (Linux only).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

TICKS = os.sysconf("SC_CLK_TCK")


def server_pid(url: str) -> int | None:
    """The child of this process whose command line names ``url``'s port, or None (not Linux, not found)."""
    port = str(urlsplit(url).port)
    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] != me:  # the parent's pid follows the state
                continue
            args = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.decode(errors="replace").endswith(port) for arg in args):
            return int(stat.parent.name)
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of proc(5)
