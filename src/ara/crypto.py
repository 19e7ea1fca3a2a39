"""Secrets at rest: Fernet with a key from settings, or one generated once under ``base_dir`` (mode 0600)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ara.errors import ConfigError
from ara.settings import Settings

PREFIX = "enc:"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        # A key of its own for MACs (never the encryption key itself), derived from the same secret.
        self._mac_key = hashlib.sha256(b"ara-mac\0" + key).digest()

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(_key_file(settings.base_dir / "secret.key"))

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def mac(self, message: str) -> str:
        """HMAC-SHA256 of ``message`` under the server's secret (hex): credentials the server can check without
        storing them (an app run's playbook-API key)."""
        return hmac.new(self._mac_key, message.encode("utf-8"), hashlib.sha256).hexdigest()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise ValueError("not a sealed value")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ConfigError("a stored secret cannot be decrypted: was ARA_SECRET_KEY changed?") from None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def _key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: if another process created it first, use theirs.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
