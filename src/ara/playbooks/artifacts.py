"""The artifact store: files kept once per sha256 on any fsspec filesystem, described by ``Artifact`` rows.

The store is a URL (``engine.artifacts_url``): ``file:///srv/ara/artifacts`` by default, or a filesystem every
worker machine reaches (``s3://bucket/prefix``, ``gcs://...``), so a run executed anywhere can be downloaded
from the API host. Objects live at ``<root>/<sha256[:2]>/<sha256>``; a download resolves an artifact row to that
name and nothing else, so a request can never name a path outside the store.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import select
from sqlalchemy.orm import Session

from ara.db.types import iso
from ara.errors import NotFound
from ara.playbooks.models import Artifact

_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Object stores publish an object whole when its upload completes, so a reader never sees half of it there and a
# temporary name plus a move would only add a server-side copy. Every other filesystem gets temp name + move.
_WHOLE_OBJECT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oci", "oss", "tos"})

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


@dataclass(frozen=True)
class Digest:
    """What one pass over a local file tells: its name in the store, its size and its first bytes."""

    sha256: str
    size: int
    head: bytes

    @classmethod
    def of(cls, source: Path) -> Digest:
        digest = hashlib.sha256()
        size = 0
        with source.open("rb") as handle:
            head = handle.read(8192)
            chunk = head
            while chunk:
                digest.update(chunk)
                size += len(chunk)
                chunk = handle.read(_CHUNK)
        return cls(digest.hexdigest(), size, head)


class ArtifactStore:
    """Content-addressed objects under ``root`` on ``fs`` (one fsspec filesystem, shared by threads)."""

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        self._whole_objects = bool(protocols & _WHOLE_OBJECT_PROTOCOLS)

    @property
    def is_local(self) -> bool:
        """``file://``: downloads are served from the path itself (sendfile, ranges)."""
        return isinstance(self.fs, LocalFileSystem)

    def path(self, sha256: str) -> str:
        """The object's name in the store (only a sha256 becomes one)."""
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return f"{self.root}/{sha256[:2]}/{sha256}"

    def _object(self, artifact: Artifact) -> str:
        # Rows hold what ``save`` computed; anything else (a tampered row) must not become a path.
        if not _SHA256.fullmatch(artifact.sha256):
            raise _missing(artifact)
        return self.path(artifact.sha256)

    def record(
        self, session: Session, digest: Digest, *, run_id: str, action_id: str | None, path: str, filename: str
    ) -> Artifact:
        """The row describing content ``save`` stored."""
        artifact = Artifact(
            run_id=run_id,
            action_id=action_id,
            path=path,
            filename=filename,
            size=digest.size,
            content_type=sniff_content_type(digest.head, filename),
            sha256=digest.sha256,
        )
        session.add(artifact)
        session.flush()
        return artifact

    def save(self, source: Path) -> Digest:
        """Store ``source`` once per content. It is hashed first (a local read), so known content is never sent
        again and an object store is written once, at its final name."""
        digest = Digest.of(source)
        target = self.path(digest.sha256)
        if self.fs.exists(target):
            return digest
        if self._whole_objects:
            self.fs.put_file(str(source), target)
            return digest
        incoming = f"{self.root}/.incoming"
        temporary = f"{incoming}/{uuid.uuid4().hex}"
        self.fs.makedirs(incoming, exist_ok=True)
        self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        try:
            self.fs.put_file(str(source), temporary)
            self.fs.mv(temporary, target)
        except BaseException:
            self._discard(temporary)
            raise
        return digest

    def _discard(self, temporary: str) -> None:
        try:
            self.fs.rm_file(temporary)
        except OSError:
            pass  # never written, or already moved

    def local_path(self, artifact: Artifact) -> Path:
        """The file itself, on a ``file://`` store only."""
        if not self.is_local:
            raise TypeError(f"the artifact store is not local ({self.fs.protocol})")
        path = Path(self._object(artifact))
        if not path.is_file():
            raise _missing(artifact)
        return path

    def open(self, artifact: Artifact) -> IO[bytes]:
        """A binary reader of the content (the caller closes it)."""
        try:
            return cast(IO[bytes], self.fs.open(self._object(artifact), "rb"))
        except FileNotFoundError:
            raise _missing(artifact) from None

    def copy_to(self, artifact: Artifact, destination: Path) -> None:
        with self.open(artifact) as source, destination.open("wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)


def run_artifacts(session: Session, run_id: str) -> list[Artifact]:
    """A run's artifacts in the order its actions produced them (a run keeps a handful: not paged)."""
    return list(session.scalars(select(Artifact).where(Artifact.run_id == run_id).order_by(Artifact.created_at)))


def find_artifact(session: Session, artifact_id: str) -> Artifact:
    artifact = session.get(Artifact, artifact_id)
    if artifact is None:
        raise NotFound(f"artifact {artifact_id} not found")
    return artifact


def artifact_dict(artifact: Artifact) -> dict[str, Any]:
    """Mission Control's field names (``/artifacts/list/playbook_run/{run_id}``)."""
    return {
        "id": artifact.id,
        "playbook_run_action_id": artifact.action_id,
        "path": artifact.path,
        "filename": artifact.filename,
        "size": artifact.size,
        "content_type": artifact.content_type,
        "checksum": artifact.sha256,
        "created_at": iso(artifact.created_at),
    }


def _missing(artifact: Artifact) -> NotFound:
    return NotFound(f"artifact {artifact.id} content is missing from the store")


def iter_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """The reader's bytes in 1 MiB pieces, closing it at the end (a streamed download)."""
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk
