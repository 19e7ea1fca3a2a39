"""``engine.artifacts_url`` to an open ``ArtifactStore``, checked when a server or worker starts.

A protocol whose package is missing (``s3://`` without s3fs), an unknown one or a relative local path is a
``ConfigError`` naming the setting, raised at start rather than at the first artifact a run produces.
"""

from __future__ import annotations

import re
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from ara.errors import ConfigError
from ara.playbooks.artifacts import ArtifactStore
from ara.settings import Settings

SETTING = "ARA_ENGINE__ARTIFACTS_URL"
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def redact(text: str) -> str:
    """``ftp://user:secret@host/x`` -> ``ftp://***@host/x``: a URL's credentials never reach a message."""
    return _USERINFO.sub("***@", text)


def artifacts_url(settings: Settings) -> str:
    """The store's URL: the setting, else the deprecated ``artifacts_dir``, else ``file://<base_dir>/artifacts``."""
    engine = settings.engine
    if engine.artifacts_url and engine.artifacts_dir:
        raise ConfigError(f"set only {SETTING}: ARA_ENGINE__ARTIFACTS_DIR is its deprecated alias")
    if engine.artifacts_url:
        return engine.artifacts_url
    directory = Path(engine.artifacts_dir) if engine.artifacts_dir else settings.base_dir / "artifacts"
    return f"file://{directory.resolve()}"


def open_store(settings: Settings) -> ArtifactStore:
    url = artifacts_url(settings)
    shown = redact(url)
    try:
        fs, root = fsspec.url_to_fs(url)
    except ImportError as exc:
        raise ConfigError(f"{SETTING}={shown}: its filesystem's package is not installed ({exc})") from None
    except ValueError as exc:
        example = "an fsspec URL such as file:///srv/ara/artifacts or s3://bucket/prefix"
        raise ConfigError(f"{SETTING}={shown}: {redact(str(exc))} ({example})") from None
    except Exception as exc:  # a backend that connects at once (ftp, sftp) and fails: any error is this setting's
        reason = redact((str(exc).strip().splitlines() or [""])[0])
        raise ConfigError(f"{SETTING}={shown}: cannot open it ({type(exc).__name__}: {reason})") from None
    if isinstance(fs, LocalFileSystem) and not url.split("://", 1)[-1].startswith("/"):
        raise ConfigError(f"{SETTING}={shown}: a local store needs an absolute path (file:///srv/ara/artifacts)")
    return ArtifactStore(fs, root)
