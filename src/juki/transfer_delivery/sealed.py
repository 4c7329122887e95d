"""A department system's key: the 個人番号 at rest outside juki's database is encrypted (docs/transfer-files-and-push.md).

A transfer file or a pushed message for a system whose policy includes the 個人番号 is sealed with AES-256-GCM under
that system's own key, kept in a key file like the register's (adapters/vault.py), readable by its owner only:

    {"system_id": "hoken-nenkin", "active": "k1", "keys": {"k1": "<base64, 32 bytes>"}}

The city's administrator hands the file to the department, as the event key is handed to the CS (never through the
network in the clear); the department opens files with `juki transfer decrypt` (or `open_file` below) and
messages with `open_message`. Older keys stay in the file when a new one becomes active, so older files open.

A sealed file (`.csv.enc`) is the STREAM construction over AES-GCM (Hoang, Reyhanitabar, Rogaway, Vizár 2015), so
that a full extract is encrypted as it is written and a truncated file is refused, not read short:

    b"JUKI-TF1" | length of the header (2 bytes, big-endian) | header (JSON: alg, chunk, key_id, system_id, prefix)
    then the chunks: AES-GCM of CHUNK bytes of the CSV each (the last one shorter, possibly empty), with the
    nonce prefix (7 bytes) | chunk counter (4 bytes, big-endian) | 1 for the last chunk else 0, and everything
    before the first chunk as associated data.

No exception raised here carries a file's contents.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"JUKI-TF1"
ALGORITHM = "AES-256-GCM-STREAM"
CHUNK = 64 * 1024
TAG = 16
KEY_BYTES = 32
PREFIX_BYTES = 7
SYSTEM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a file name and one NATS subject token


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class SealError(Exception):
    """A key file, a sealed file or a sealed message that cannot be used (never with its contents)."""


def check_system_id(system_id: str) -> str:
    if not SYSTEM_ID.match(system_id):
        raise SealError(f"連携先システムIDは英数字・-・_ の64文字以内です: {system_id[:64]!r}")
    return system_id


class SystemKey:
    def __init__(self, system_id: str, keys: dict[str, bytes], active: str) -> None:
        if active not in keys or any(":" in k or not k for k in keys):
            raise SealError("連携先の鍵ファイルの形式が正しくありません")
        self.system_id = check_system_id(system_id)
        self.active = active
        self._raw = dict(keys)
        self._aes = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @classmethod
    def from_json(cls, data: Any) -> SystemKey:
        try:
            keys = {str(k): base64.b64decode(str(v), validate=True) for k, v in dict(data["keys"]).items()}
            if any(len(v) != KEY_BYTES for v in keys.values()):
                raise ValueError
            return cls(str(data["system_id"]), keys, str(data["active"]))
        except (KeyError, TypeError, AttributeError, ValueError, binascii.Error):
            raise SealError("連携先の鍵ファイルの形式が正しくありません") from None

    @classmethod
    def load(cls, path: str | Path) -> SystemKey:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise SealError(f"連携先の鍵ファイルがありません: {path}") from None
        except (OSError, ValueError) as exc:
            raise SealError(f"連携先の鍵ファイルを読めません: {path} ({type(exc).__name__})") from None

    def to_json(self) -> dict[str, Any]:
        keys = {k: base64.b64encode(v).decode("ascii") for k, v in self._raw.items()}
        return {"system_id": self.system_id, "active": self.active, "keys": keys}

    def aes(self, key_id: str) -> AESGCM:
        found = self._aes.get(key_id)
        if found is None:
            raise SealError(f"鍵 {key_id} が連携先の鍵ファイルにありません（鍵ファイルが違います）")
        return found

    # --- messages (NATS) ------------------------------------------------------------------------------------

    def seal_message(self, plain: bytes, subject: str, msg_id: str) -> bytes:
        """A message's payload, bound to its subject and message id (it cannot be replayed onto another)."""
        nonce = os.urandom(12)
        sealed = self.aes(self.active).encrypt(nonce, plain, _message_aad(subject, msg_id))
        envelope = {
            "alg": "AES-256-GCM",
            "key_id": self.active,
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
        }
        return json.dumps(envelope, separators=(",", ":")).encode("ascii")

    def open_message(self, payload: bytes, subject: str, msg_id: str) -> bytes:
        try:
            envelope = json.loads(payload)
            nonce = base64.b64decode(envelope["nonce"], validate=True)
            sealed = base64.b64decode(envelope["ciphertext"], validate=True)
            return self.aes(str(envelope["key_id"])).decrypt(nonce, sealed, _message_aad(subject, msg_id))
        except (InvalidTag, KeyError, TypeError, ValueError, binascii.Error):
            raise SealError("メッセージを復号できません（鍵が違うか、データが壊れています）") from None


def _message_aad(subject: str, msg_id: str) -> bytes:
    return f"juki-transfer-message|{subject}|{msg_id}".encode()


# --- key files ---------------------------------------------------------------------------------------------------


def key_path(key_dir: Path, system_id: str) -> Path:
    return key_dir / f"{check_system_id(system_id)}.json"


def _write_key(path: Path, key: SystemKey, *, replace: bool) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = path.with_name(path.name + ".tmp") if replace else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SealError(f"鍵ファイルは既にあります（上書きしません）: {target}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(key.to_json(), indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(target, path)


def load_or_create_key(key_dir: Path, system_id: str) -> SystemKey:
    """The system's key, created (mode 0600) with its first sealed delivery."""
    path = key_path(key_dir, system_id)
    if not path.exists():
        try:
            key = SystemKey(system_id, {"k1": os.urandom(KEY_BYTES)}, "k1")
            _write_key(path, key, replace=False)
            return key
        except SealError:  # another process created it meanwhile
            pass
    key = SystemKey.load(path)
    if key.system_id != system_id:
        raise SealError(f"鍵ファイルの連携先が違います: {path}")
    return key


def rotate_key(key_dir: Path, system_id: str) -> SystemKey:
    """A new active key; the older ones stay so that older files and messages open."""
    old = load_or_create_key(key_dir, system_id)
    numbers = [int(k[1:]) for k in old.to_json()["keys"] if k[:1] == "k" and k[1:].isdigit()]
    key_id = f"k{max(numbers, default=0) + 1}"
    key = SystemKey(system_id, {**old._raw, key_id: os.urandom(KEY_BYTES)}, key_id)
    _write_key(key_path(key_dir, system_id), key, replace=True)
    return key


# --- sealed files ------------------------------------------------------------------------------------------------


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class SealingWriter:
    """Writes the sealed form of what it is given to `out` (a binary file), chunk by chunk."""

    def __init__(self, key: SystemKey, out: Writable) -> None:
        self._aes = key.aes(key.active)
        self._out = out
        self._prefix = os.urandom(PREFIX_BYTES)
        header = json.dumps(
            {
                "alg": ALGORITHM,
                "chunk": CHUNK,
                "key_id": key.active,
                "system_id": key.system_id,
                "prefix": base64.b64encode(self._prefix).decode("ascii"),
            },
            separators=(",", ":"),
        ).encode("ascii")
        self._aad = MAGIC + len(header).to_bytes(2, "big") + header
        self._counter = 0
        self._pending = bytearray()
        out.write(self._aad)

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) > CHUNK:  # the last chunk is written by close(), possibly full
            self._emit(bytes(self._pending[:CHUNK]), last=False)
            del self._pending[:CHUNK]

    def close(self) -> None:
        self._emit(bytes(self._pending), last=True)
        self._pending.clear()

    def _emit(self, plain: bytes, last: bool) -> None:
        if self._counter >= 2**32:
            raise SealError("ファイルが大きすぎます")
        nonce = _nonce(self._prefix, self._counter, last)
        self._out.write(self._aes.encrypt(nonce, plain, self._aad))
        self._counter += 1


def open_file(key: SystemKey, source: BinaryIO) -> Iterator[bytes]:
    """The CSV of a sealed file, chunk by chunk; SealError if it is not whole or not this key's."""
    if source.read(len(MAGIC)) != MAGIC:
        raise SealError("暗号化された連携ファイルではありません")
    length = int.from_bytes(source.read(2), "big")
    raw_header = source.read(length)
    try:
        header = json.loads(raw_header)
        prefix = base64.b64decode(header["prefix"], validate=True)
        chunk, key_id = int(header["chunk"]), str(header["key_id"])
        if header["alg"] != ALGORITHM or len(prefix) != PREFIX_BYTES or chunk <= 0:
            raise ValueError
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise SealError("暗号化された連携ファイルの見出しが壊れています") from None
    if header.get("system_id") != key.system_id:
        raise SealError("この連携先の鍵で暗号化されたファイルではありません")
    aes, aad = key.aes(key_id), MAGIC + length.to_bytes(2, "big") + raw_header
    yield from _chunks(lambda n: source.read(n), aes, aad, prefix, chunk)


def _chunks(
    read: Callable[[int], bytes], aes: AESGCM, aad: bytes, prefix: bytes, chunk: int
) -> Iterator[bytes]:
    counter, current = 0, read(chunk + TAG)
    while True:
        following = read(chunk + TAG)
        last = not following
        try:
            yield aes.decrypt(_nonce(prefix, counter, last), current, aad)
        except InvalidTag:
            raise SealError(
                "連携ファイルを復号できません（鍵が違うか、ファイルが欠けているか壊れています）"
            ) from None
        if last:
            return
        counter, current = counter + 1, following
