"""Secrets kept out of what the engine stores and logs besides results: artifact files and crash reports."""

from __future__ import annotations

import logging
import os
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ara.redaction import scrub, scrub_file

log = logging.getLogger("ara.engine")


@contextmanager
def scrubbed_copy(source: Path, secrets: list[str]) -> Iterator[Path]:
    """A scrubbed copy of ``source`` (the file itself when there is nothing to scrub), removed afterwards."""
    if not secrets:
        yield source
        return
    fd, name = tempfile.mkstemp(prefix=".scrubbed-", dir=source.parent)
    os.close(fd)
    try:
        scrub_file(source, Path(name), secrets)
        yield Path(name)
    finally:
        os.unlink(name)


def log_crash(message: str, exc: BaseException, secrets: list[str]) -> None:
    """``log.exception`` with the traceback (whose message may quote a value) scrubbed first."""
    trace = "".join(traceback.format_exception(exc))
    log.error("%s\n%s", scrub(message, secrets), scrub(trace, secrets))
