"""The artifact store: files kept once per sha256 under one directory, described by ``Artifact`` rows.

Downloads resolve an artifact id to its sha256 path, so a request can never name a file outside the store.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from ara.errors import NotFound
from ara.playbooks.models import Artifact

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
    (b"\x1f\x8b", "application/gzip"),
    (b"PK\x03\x04", "application/zip"),
    (b"GIF8", "image/gif"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


def sniff_content_type(head: bytes, filename: str) -> str:
    """From the first bytes, then the name; text that decodes as UTF-8 is text/plain (or JSON)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    guessed = mimetypes.guess_type(filename)[0]
    if guessed:
        return guessed
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "application/json"
    return "text/plain; charset=utf-8"


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(
        self, session: Session, source: Path, *, run_id: str, action_id: str | None, path: str, filename: str
    ) -> Artifact:
        """Copy ``source`` into the store (content addressed) and describe it."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            head = src.read(8192)
            chunk = head
            while chunk:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
                chunk = src.read(1 << 20)
        sha256 = digest.hexdigest()
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp_name)
        else:
            os.replace(tmp_name, target)
        artifact = Artifact(
            run_id=run_id,
            action_id=action_id,
            path=path,
            filename=filename,
            size=size,
            content_type=sniff_content_type(head, filename),
            sha256=sha256,
        )
        session.add(artifact)
        session.flush()
        return artifact

    def open_path(self, artifact: Artifact) -> Path:
        path = self._path(artifact.sha256)
        if not path.is_file():
            raise NotFound(f"artifact {artifact.id} content is missing from the store")
        return path

    def copy_to(self, artifact: Artifact, destination: Path) -> None:
        shutil.copyfile(self.open_path(artifact), destination)
