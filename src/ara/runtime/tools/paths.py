"""Opening files inside a session without ever following a symlink out, even one a sandboxed command swaps in
between ``Workspace.resolve`` and the open: every component is opened relative to its parent's descriptor with
``O_NOFOLLOW``, starting from the session root."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ara.errors import ToolFailed
from ara.runtime.workspace import Workspace

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def parts(workspace: Workspace, host: Path) -> tuple[str, ...]:
    """``host``'s components below the session root (``()`` for the root itself)."""
    try:
        return host.relative_to(workspace.root.resolve()).parts
    except ValueError:
        raise ToolFailed(f"{host} is outside the session") from None


def refusal(exc: OSError, shown: str, *, link: bool = False) -> ToolFailed:
    """The tool error for an ``OSError`` met while opening ``shown``."""
    if link or exc.errno == errno.ELOOP:
        return ToolFailed(f"{shown}: a symbolic link is in the way (file tools do not follow links)")
    messages = {
        errno.ENOENT: "no such file or directory",
        errno.ENOTDIR: "a component of the path is not a directory",
        errno.EISDIR: "is a directory",
        errno.ENOTEMPTY: "the directory is not empty (pass recursive=true to delete it with its contents)",
        errno.EEXIST: "already exists",
        errno.ENXIO: "not a regular file",
    }
    return ToolFailed(f"{shown}: {messages.get(exc.errno or 0, exc.strerror or str(exc))}")


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _walk(workspace: Workspace, components: tuple[str, ...], shown: str, create: bool) -> int:
    fd = os.open(workspace.root.resolve(), _DIR_FLAGS)
    try:
        for part in components:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise refusal(exc, shown, link=_is_link(part, fd)) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def open_dir(workspace: Workspace, host: Path, shown: str, *, create: bool = False) -> Iterator[int]:
    """A descriptor of the directory ``host`` (a path ``Workspace.resolve`` returned), made when ``create``."""
    fd = _walk(workspace, parts(workspace, host), shown, create)
    try:
        yield fd
    finally:
        os.close(fd)


@contextmanager
def open_file(
    workspace: Workspace, host: Path, shown: str, flags: int, *, mode: int = 0o644, create_parents: bool = False
) -> Iterator[int]:
    """A descriptor of the regular file ``host`` opened with ``flags`` (never through a symlink). ``O_NONBLOCK``
    keeps a FIFO a sandboxed command planted from hanging the server's open; anything but a regular file is
    refused."""
    components = parts(workspace, host)
    if not components:
        raise ToolFailed(f"{shown}: is a directory")
    parent = _walk(workspace, components[:-1], shown, create_parents)
    try:
        fd = os.open(components[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, mode, dir_fd=parent)
    except OSError as exc:
        raise refusal(exc, shown) from None
    finally:
        os.close(parent)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ToolFailed(f"{shown}: is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise ToolFailed(f"{shown}: not a regular file")
        os.set_blocking(fd, True)
        yield fd
    finally:
        os.close(fd)
