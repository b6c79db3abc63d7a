"""Secrets at rest: Fernet encryption with a key from settings or the data folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from jobwerk.errors import AppError

KEY_FILE = "secret.key"


def load_or_create_key(data_dir: Path, configured: str | None = None) -> bytes:
    """The configured key, or the one in the data folder (created with mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    return key


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise AppError(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from None
        self.key = key
        """The key itself, for backups: an archive without it cannot decrypt anything."""

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            decoded: dict[str, Any] = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise AppError("stored secrets cannot be decrypted with the current key") from None
        return decoded
