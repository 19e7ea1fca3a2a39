"""Runtime keys remembered per app slug in ``~/.ara/.runtime-keys.local`` (``{slug: key}``), the file ara-sdk
0.1.58 keeps, so ``ara deploy`` followed by ``ara run`` needs no ``ARA_RUNTIME_KEY`` and both CLIs share it.

The file is 0600 in a 0700 directory and replaced atomically; an unreadable or malformed file counts as empty
(it is a cache: the user can always pass ``--runtime-key``), as in 0.1.58.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ara_sdk.config import CREDENTIALS_DIRNAME
from ara_sdk.errors import CredentialsError

FILENAME = ".runtime-keys.local"


def keys_path() -> Path:
    return Path.home() / CREDENTIALS_DIRNAME / FILENAME


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k).strip(): str(v).strip() for k, v in data.items() if str(k or "").strip() and str(v or "").strip()}


def saved_key(slug: str, *, cwd: Path | None = None) -> str:
    """The key saved for ``slug`` ("" when none); 0.1.58's older project-local file in ``cwd`` counts too."""
    found = _read(keys_path())
    if cwd is not None:
        for name, key in _read(cwd / FILENAME).items():
            found.setdefault(name, key)
    return found.get(slug.strip(), "")


def save_key(slug: str, key: str) -> Path:
    """Remembers ``key`` for ``slug`` (the newest deploy's key wins); returns the file's path."""
    path = keys_path()
    data = _read(path) | {slug.strip(): key.strip()}
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd, temporary = tempfile.mkstemp(prefix=".runtime-keys-", dir=path.parent)  # 0600 from the start
    except OSError as exc:
        raise CredentialsError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CredentialsError(f"cannot write {path}: {exc.strerror}") from None
        raise
    return path
