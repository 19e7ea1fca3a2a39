"""The files ``ara connect`` keeps, where ara-sdk keeps them, so either tool's ``ara connect`` and ``ara ssh-proxy``
work with the other's: an ed25519 key pair in ``~/.ara/ssh/`` (directory 0700, private key and proxy token 0600)
and the ``Host ara-personal`` block in ``~/.ssh/config`` (replaced in place, the rest of the file kept)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ara_sdk.errors import AraSdkError

KEY_BASENAME = "ara_personal_ed25519"
PROXY_TOKEN_FILENAME = "ara_personal_proxy_token"
_HOST_LINE = re.compile(r"^\s*Host\s+(.+?)\s*$", re.IGNORECASE)


def ssh_dir() -> Path:
    return Path.home() / ".ara" / "ssh"


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` whole with ``text``, created with ``mode`` before a byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_keypair() -> tuple[Path, str]:
    """The private key's path and the public key's text, generated with ``ssh-keygen`` on first use."""
    directory = ssh_dir()
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    private = directory / KEY_BASENAME
    public = Path(f"{private}.pub")
    keygen = shutil.which("ssh-keygen")
    if not private.exists() or not public.exists():
        if keygen is None:
            raise AraSdkError(
                "ssh-keygen not found: install the OpenSSH client (Debian: apt-get install openssh-client)"
            )
        if not private.exists():
            _run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", "ara-personal", "-f", str(private)])
        write_private(public, _run([keygen, "-y", "-f", str(private)]).strip() + "\n", 0o644)
    os.chmod(private, 0o600)
    return private, public.read_text(encoding="utf-8").strip()


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AraSdkError(f"{Path(argv[0]).name} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def write_proxy_token(token: str) -> Path:
    path = ssh_dir() / PROXY_TOKEN_FILENAME
    write_private(path, token.strip() + "\n")
    return path


def read_token_file(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise AraSdkError(f"token file not found: {path}") from None
    except OSError as exc:
        raise AraSdkError(f"cannot read {path}: {exc.strerror}") from None


def quote_config_path(path: Path) -> str:
    """A path as ssh_config reads it (double quotes, backslash escapes)."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def upsert_host_block(alias: str, block: str) -> Path:
    """Put ``block`` in ``~/.ssh/config`` in place of the ``Host alias`` block (up to the next ``Host`` or
    ``Match`` line), or at its end; the file stays 0600 and its other lines are kept as they were."""
    directory = Path.home() / ".ssh"
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / "config"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    start = end = None
    for index, line in enumerate(lines):
        match = _HOST_LINE.match(line)
        is_block_start = match is not None or line.strip().lower().startswith("match ")
        if start is None and match is not None and match.group(1).strip() == alias:
            start = index
        elif start is not None and is_block_start:
            end = index
            break
    if start is None:
        new = [*lines, *([""] if lines else []), *block.splitlines()]
    else:
        new = [*lines[:start], *block.splitlines(), *([""] if end is not None else []), *lines[end or len(lines) :]]
    write_private(path, "\n".join(new).rstrip() + "\n")
    return path
