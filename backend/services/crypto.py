"""Secrets at rest: provider keys and Hub tokens are stored only encrypted, with the server's key.

The key is `SECRET_KEY` (a URL-safe base64 Fernet key) when set, which every server and worker of a
deployment must share; otherwise one is generated on first use into DATA_DIR/secret.key (readable by its
owner only), which is enough for the embedded default where server and workers share DATA_DIR.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from backend.core.errors import UnavailableError
from backend.settings import Settings

KEY_FILE = "secret.key"


def server_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        _write_new_key(path)
    return path.read_bytes().strip()


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, path)  # fails if another process made the key first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def encrypt(key: bytes, text: str) -> str:
    return Fernet(key).encrypt(text.encode()).decode()


def decrypt(key: bytes, token: str) -> str:
    try:
        return Fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnavailableError("A stored secret cannot be decrypted with this server's key (SECRET_KEY changed, "
                               "or servers and workers use different keys). Send the key again.",
                               code="secret_unreadable") from None
