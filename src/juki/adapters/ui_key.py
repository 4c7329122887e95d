"""The clerk UI's secret: one installation's key file, next to the My Number key file, so that every worker process
of the server opens every other's session cookie and hand-over.

The file holds 32 random bytes (base64), written once with mode 0600 like the vault's key file; the keys the UI
uses are derived from it with HKDF-SHA256, one per purpose, so that a cookie's key never opens a PDF. Deleting
the file signs everyone out of the UI and makes the PDFs waiting for their fetch unreadable; nothing else.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_BYTES = 32


FILE_NAME = "juki-ui.key"


def ui_key_file(vault_key_file: Path) -> Path:
    return vault_key_file.with_name(FILE_NAME)


@dataclass(frozen=True)
class UiKey:
    secret: bytes = field(repr=False)

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self.secret)

    @property
    def session(self) -> bytes:
        """Seals the UI session cookie (web/ui/session.py)."""
        return self._derive(b"juki ui session cookie v1")

    @property
    def handover(self) -> bytes:
        """Seals an issued certificate's PDF until its fetch (adapters/handover_store.py)."""
        return self._derive(b"juki ui certificate handover v1")


def load_or_create_ui_key(path: Path) -> UiKey:
    """The key file, created first (mode 0600) if there is none; of two processes creating it, one wins and the other
    reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    secret = os.urandom(_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(secret).decode("ascii") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return UiKey(secret)


def _read(path: Path) -> UiKey:
    # A file another process has just created may still be empty: wait for its one line.
    for _ in range(50):
        text = path.read_text(encoding="ascii").strip()
        if text:
            secret = base64.b64decode(text, validate=True)
            if len(secret) != _BYTES:
                raise ValueError(f"UI鍵ファイルの長さが正しくありません: {path}")
            return UiKey(secret)
        time.sleep(0.02)
    raise ValueError(f"UI鍵ファイルが空です: {path}")
