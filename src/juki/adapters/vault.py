"""My Number at rest: AES-GCM encryption and a keyed-hash (blind) index, with the keys in a file outside the database.

The key file is JSON, readable by its owner only (mode 0600):

    {"active": "k2", "keys": {"k1": "<base64, 32 bytes>", "k2": "..."}, "index_key": "<base64, 32 bytes>"}

- a stored number is `"<key id>:" + base64(nonce(12) + ciphertext)`; any key in the file decrypts its own tokens,
  new tokens use the active key;
- `index` is HMAC-SHA256 with `index_key`, for exact look-up and the uniqueness constraint. The index key does not
  rotate with the encryption keys (rotating it would mean recomputing every index, in the append-only history too).

Without the key file the stored numbers cannot be read: back it up separately from the database (and a database
backup is useless without it). No exception raised here ever carries a number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ASSOCIATED_DATA = b"juki-my-number"
SECRETS_DATA = (
    b"juki-filing-secrets"  # a filing's secret payload: a token of one kind never opens as the other
)
NONCE_BYTES = 12
KEY_BYTES = 32


class VaultError(Exception):
    """A key file or a stored My Number that cannot be used. The message never contains a number."""


def _b64key(value: Any, what: str) -> bytes:
    try:
        key = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(f"鍵ファイルの {what} が base64 ではありません") from None
    if len(key) != KEY_BYTES:
        raise VaultError(f"鍵ファイルの {what} が {KEY_BYTES} バイトではありません")
    return key


class MyNumberVault:
    def __init__(self, keys: Mapping[str, bytes], active: str, index_key: bytes) -> None:
        if active not in keys:
            raise VaultError("鍵ファイルの active が keys にありません")
        if any(":" in key_id or not key_id for key_id in keys):
            raise VaultError("鍵ファイルの鍵IDが不正です")
        self.active = active
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._raw = dict(keys)
        self._index_key = index_key

    # --- the key file ---------------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MyNumberVault:
        try:
            keys = {str(k): _b64key(v, f"keys.{k}") for k, v in dict(data["keys"]).items()}
            return cls(keys, str(data["active"]), _b64key(data["index_key"], "index_key"))
        except (KeyError, TypeError, AttributeError):
            raise VaultError("鍵ファイルの形式が正しくありません") from None

    @classmethod
    def load(cls, path: str | Path) -> MyNumberVault:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise VaultError(f"鍵ファイルがありません: {path}") from None
        except (OSError, ValueError) as exc:
            raise VaultError(f"鍵ファイルを読めません: {path} ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise VaultError("鍵ファイルの形式が正しくありません")
        return cls.from_json(data)

    def to_json(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "keys": {k: base64.b64encode(v).decode() for k, v in self._raw.items()},
            "index_key": base64.b64encode(self._index_key).decode(),
        }

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    # --- numbers --------------------------------------------------------------------------------------------

    def encrypt(self, my_number: str) -> str:
        return self._encrypt(my_number.encode("ascii"), ASSOCIATED_DATA)

    def decrypt(self, token: str) -> str:
        return self._decrypt(token, ASSOCIATED_DATA).decode("ascii")

    def encrypt_json(self, value: Any) -> str:
        """One token for a JSON value (a filing's `secret_payload`)."""
        return self._encrypt(json.dumps(value, ensure_ascii=False).encode("utf-8"), SECRETS_DATA)

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self._decrypt(token, SECRETS_DATA).decode("utf-8"))

    def _encrypt(self, plain: bytes, associated: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.active].encrypt(nonce, plain, associated)
        return f"{self.active}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def _decrypt(self, token: str, associated: bytes) -> bytes:
        if not isinstance(token, str):
            raise VaultError("暗号化された個人番号の形式が正しくありません")
        key_id, sep, body = token.partition(":")
        if not sep:
            raise VaultError("暗号化された個人番号の形式が正しくありません")
        aes = self._keys.get(key_id)
        if aes is None:
            raise VaultError(f"個人番号の鍵 {key_id} が鍵ファイルにありません（鍵ファイルが違います）")
        try:
            raw = base64.b64decode(body, validate=True)
            return aes.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
        except (InvalidTag, binascii.Error, ValueError):
            raise VaultError("個人番号を復号できません（鍵ファイルが違うか、データが壊れています）") from None

    def index(self, my_number: str) -> str:
        return hmac.new(self._index_key, my_number.encode("ascii"), hashlib.sha256).hexdigest()

    def seal(self, my_number: str | None) -> tuple[str | None, str | None]:
        """(ciphertext, index) for the two columns; (None, None) for no number."""
        if my_number is None:
            return None, None
        return self.encrypt(my_number), self.index(my_number)

    def open(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def is_current(self, token: str) -> bool:
        """Whether a token was made with the active key (rotation re-encrypts the others)."""
        return token.startswith(self.active + ":")


# --- key files ---------------------------------------------------------------------------------------------


def _new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _write(path: Path, vault: MyNumberVault, *, replace: bool) -> None:
    """Write the key file with mode 0600; a replacement goes through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(vault.to_json(), indent=2) + "\n"
    target = path.with_name(path.name + ".tmp") if replace else path
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise VaultError(f"鍵ファイルは既にあります（上書きしません）: {target}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(target, path)


def create_key_file(path: str | Path) -> MyNumberVault:
    """A new key file (one encryption key, one index key). Refuses to overwrite an existing file."""
    vault = MyNumberVault({"k1": _new_key()}, "k1", _new_key())
    _write(Path(path), vault, replace=False)
    return vault


def load_or_create(path: str | Path) -> MyNumberVault:
    """The key file, created first if there is none (a new installation)."""
    path = Path(path)
    if not path.exists():
        try:
            return create_key_file(path)
        except VaultError:  # another process created it meanwhile
            pass
    return MyNumberVault.load(path)


def rotate(path: str | Path) -> MyNumberVault:
    """Add a new encryption key and make it the active one; older keys stay to decrypt older tokens."""
    path = Path(path)
    old = MyNumberVault.load(path)
    numbers = [int(k[1:]) for k in old.key_ids if k[:1] == "k" and k[1:].isdigit()]
    key_id = f"k{max(numbers, default=0) + 1}"
    while key_id in old.key_ids:  # pragma: no cover - only with hand-made key ids
        key_id += "x"
    vault = MyNumberVault({**old._raw, key_id: _new_key()}, key_id, old._index_key)
    _write(path, vault, replace=True)
    return vault


def default_key_file(database_url: str) -> Path:
    """Next to the SQLite file; `var/juki-keys.json` for a server database (set JUKI_KEY_FILE in production)."""
    from sqlalchemy.engine import make_url

    from juki.adapters.db import database_url as normalise

    url = make_url(normalise(database_url))
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return Path(url.database).parent / "juki-keys.json"
    return Path("var/juki-keys.json")


def key_file_for(database_url: str, key_file: str | None) -> Path:
    return Path(key_file).expanduser() if key_file else default_key_file(database_url)


def load_for_migration(attributes: Mapping[str, Any], url: str) -> MyNumberVault:
    """The vault a data migration uses: the one `migrate()` passed, else JUKI_KEY_FILE, else the default file."""
    vault = attributes.get("vault")
    if isinstance(vault, MyNumberVault):
        return vault
    return load_or_create(key_file_for(url, os.environ.get("JUKI_KEY_FILE")))
