"""What the simulated 住基ネット holds, in its own SQLite file in the data folder (`juki-net.sqlite3`), so that a
restart keeps it: the notices the prefecture server received, the 本人確認情報 it holds per person, and the
national server's (全国サーバ, J-LIS) copy, which every accepted notice updates too (住基法30条の7).

The items are kept encrypted (AES-GCM, the key in `store.key` beside the file, owner only): they carry the 個人番号,
which is never at rest in plain (番号法 and the seed's 特定個人情報 safeguards), not even in a simulator's file.
Every 個人番号 the network knows — each one a city notified, each one J-LIS generated (jlis.py) — is in
`known_my_numbers` as a keyed digest (HMAC-SHA256 with a key derived from `store.key`), so that J-LIS never
generates one twice without keeping any in plain. `my_number_holders` maps the same digest to the 住民票コード of the
person who holds the number (each a notice carried, each J-LIS generated), so that J-LIS finds the person of a
符号取得の要求 (jlis.py) without opening every record; a file from before it had the table is indexed once when
opened.

A 住民票コード変更 (住基法30条の4) re-keys the person: its notice names the new code and, as 旧住民票コード, the code
the servers hold the person under; the record moves to the new code (the old one answers 404 from then on), in the
order of the person's 更新順番号.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from juki.cs.wire import Notice, NoticeKind
from juki.sim.juki_net.checks import (
    MY_NUMBER,
    OLD_RESIDENT_CODE,
    RESIDENT_CODE,
    Held,
    Problem,
    applied,
    check_logic,
    check_order,
    is_resident_code,
    logic_error,
)

DB_FILE, KEY_FILE = "juki-net.sqlite3", "store.key"
PREFECTURE, NATIONAL = "prefecture_identity", "national_identity"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS prefecture_notices (
    resident_code TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    notice_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    items BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (resident_code, sequence)
);
CREATE TABLE IF NOT EXISTS prefecture_identity (
    resident_code TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    items BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS national_identity (
    resident_code TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    items BLOB NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS known_my_numbers (
    digest TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
HOLDERS = "my_number_holders"
_HOLDERS_SCHEMA = f"""
CREATE TABLE {HOLDERS} (
    digest TEXT PRIMARY KEY,
    resident_code TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL
);
"""
_JLIS_ANSWERS = "jlis_number_answers"  # jlis.py's table: the numbers J-LIS generated, sealed


def _key(folder: Path) -> bytes:
    path = folder / KEY_FILE
    if path.exists():
        return path.read_bytes()
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JukiNetStore:
    """The simulator's tables. One connection, one lock: the server handles one notice at a time, so that the
    order check and the write of a person's notice are one step."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        key = _key(folder)
        self._cipher = AESGCM(key)
        self._digest_key = hmac.new(key, b"juki-net known numbers", hashlib.sha256).digest()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / DB_FILE, check_same_thread=False, isolation_level=None)
        # WAL, synced at checkpoints: a write answered for survives the process killed outright (not a power cut,
        # which a simulator need not survive), and costs no fsync (the demo's first 2,200 notices: 64 s → 9 s).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._ensure_holders()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def locked(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the store's one lock: the simulator's other parts (national queries, the
        整合性確認, other cities) keep their own tables in the same file through it."""
        with self._lock:
            yield self._db

    # --- the items, sealed ------------------------------------------------------------------------------------

    def seal(self, items: dict[str, str | None]) -> bytes:
        return self._seal(items)

    def seal_json(self, value: object) -> bytes:
        """Any JSON value sealed as the items are (J-LIS's answers and 送付先情報, jlis.py)."""
        nonce = secrets.token_bytes(12)
        return nonce + self._cipher.encrypt(nonce, json.dumps(value, ensure_ascii=False).encode(), None)

    def unseal_json(self, sealed: bytes) -> object:
        return json.loads(self._cipher.decrypt(sealed[:12], sealed[12:], None))

    def unseal(self, sealed: bytes) -> dict[str, str | None]:
        return self._open(sealed)

    def _seal(self, items: dict[str, str | None]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._cipher.encrypt(nonce, json.dumps(items, ensure_ascii=False).encode(), None)

    def _open(self, sealed: bytes) -> dict[str, str | None]:
        items: dict[str, str | None] = json.loads(self._cipher.decrypt(sealed[:12], sealed[12:], None))
        return items

    def digest(self, value: str) -> str:
        """A keyed digest of a 個人番号: compared, never reversed."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()

    def know_number(self, db: sqlite3.Connection, value: str, source: str) -> bool:
        """Remember a number the network knows; False when it knew it already. Under the lock (`locked`)."""
        cursor = db.execute(
            "INSERT OR IGNORE INTO known_my_numbers VALUES (?, ?, ?)", (self.digest(value), source, _now())
        )
        return cursor.rowcount == 1

    # --- who holds a number -------------------------------------------------------------------------------------

    def hold_number(self, db: sqlite3.Connection, value: str, code: str, source: str) -> None:
        """Remember that the person of `code` holds the number (the latest holder wins). Under the lock."""
        db.execute(
            f"INSERT OR REPLACE INTO {HOLDERS} VALUES (?, ?, ?, ?)",
            (self.digest(value), code, source, _now()),
        )

    def holder(self, db: sqlite3.Connection, value: str) -> str | None:
        """The 住民票コード last seen holding the number, or None. Under the lock."""
        row = db.execute(
            f"SELECT resident_code FROM {HOLDERS} WHERE digest = ?", (self.digest(value),)
        ).fetchone()
        return None if row is None else str(row[0])

    def _exists(self, table: str) -> bool:
        found = self._db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        return found.fetchone() is not None

    def _ensure_holders(self) -> None:
        """The holders' table; for a file from before it, indexed once from the numbers J-LIS generated and then
        the prefecture's records (a record's number wins over an older answer)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # another store over the same folder may be opening it too
            try:
                if not self._exists(HOLDERS):
                    self._db.execute(_HOLDERS_SCHEMA)
                    self._index_holders()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _index_holders(self) -> None:
        if self._exists(_JLIS_ANSWERS):
            for (sealed,) in self._db.execute(f"SELECT answer FROM {_JLIS_ANSWERS} ORDER BY seq").fetchall():
                answer = self.unseal_json(sealed)
                if isinstance(answer, dict) and answer.get("my_number") and answer.get("resident_code"):
                    self.hold_number(
                        self._db, str(answer["my_number"]), str(answer["resident_code"]), "generated"
                    )
        for code, sealed in self._db.execute(f"SELECT resident_code, items FROM {PREFECTURE}").fetchall():
            number = self._open(sealed).get(MY_NUMBER)
            if number:
                self.hold_number(self._db, str(number), str(code), "notice")

    # --- reads ------------------------------------------------------------------------------------------------

    def _held(self, table: str, code: str) -> Held | None:
        row = self._db.execute(
            f"SELECT sequence, kind, items FROM {table} WHERE resident_code = ?", (code,)
        ).fetchone()
        return None if row is None else Held(int(row[0]), NoticeKind(row[1]), self._open(row[2]))

    def held(self, code: str, *, national: bool = False) -> Held | None:
        """What the prefecture server (or the national server) holds for the person."""
        with self._lock:
            return self._held(NATIONAL if national else PREFECTURE, code)

    def all_held(self, *, national: bool = False) -> list[tuple[str, Held]]:
        """Every person the prefecture server (or the national server) holds, by 住民票コード, in code order."""
        table = NATIONAL if national else PREFECTURE
        with self._lock:
            rows = self._db.execute(
                f"SELECT resident_code, sequence, kind, items FROM {table} ORDER BY resident_code"
            ).fetchall()
        return [(str(r[0]), Held(int(r[1]), NoticeKind(r[2]), self._open(r[3]))) for r in rows]

    def notice_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM prefecture_notices").fetchone()[0])

    def _received(self, code: str, sequence: int) -> tuple[str, dict[str, str | None]] | None:
        row = self._db.execute(
            "SELECT kind, items FROM prefecture_notices WHERE resident_code = ? AND sequence = ?",
            (code, sequence),
        ).fetchone()
        return None if row is None else (str(row[0]), self._open(row[1]))

    # --- the one write ----------------------------------------------------------------------------------------

    def receive(self, notice: Notice) -> bool:
        """Apply a well-formed notice: True when it is a repeat of one already applied (acknowledged, not applied
        twice); else applied (prefecture and national server), or a `Problem` raised."""
        with self._lock:
            held = self._held(PREFECTURE, notice.resident_code)
            if held is not None and notice.sequence <= held.sequence:
                return self._repeat(notice)
            old = self._re_keyed(notice, held)
            if old is not None:
                held = self._held(PREFECTURE, old)
            check_order(notice, held)
            check_logic(notice, held)
            self._apply(notice, applied(notice, held), old)
            return False

    def _re_keyed(self, notice: Notice, held: Held | None) -> str | None:
        """The code a 住民票コード変更 moves the person from (None for any other notice, or a repeat)."""
        if notice.kind is not NoticeKind.RESIDENT_CODE_CHANGE:
            return None
        if held is not None:
            raise logic_error(RESIDENT_CODE, f"変更後の{RESIDENT_CODE}はすでに使われています")
        old = notice.items.get(OLD_RESIDENT_CODE)
        if not is_resident_code(old) or old == notice.resident_code:
            raise logic_error(OLD_RESIDENT_CODE, f"{OLD_RESIDENT_CODE}が変更前のコードを示していません")
        if self._held(PREFECTURE, str(old)) is None:
            raise Problem(422, "unknown_resident_code", OLD_RESIDENT_CODE,
                          f"この{OLD_RESIDENT_CODE}の本人確認情報を保有していません")  # fmt: skip
        return str(old)

    def _repeat(self, notice: Notice) -> bool:
        before = self._received(notice.resident_code, notice.sequence)
        if before is not None and before == (notice.kind.value, notice.items):
            return True
        raise Problem(409, "sequence_reused", None, "この更新順番号は別の内容で受理済みです")

    def _apply(self, notice: Notice, items: dict[str, str | None], old_code: str | None = None) -> None:
        now, code, kind = _now(), notice.resident_code, notice.kind.value
        sealed = self._seal(items)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if old_code is not None:  # 住民票コード変更: the record moves to the new code
                for table in (PREFECTURE, NATIONAL):
                    self._db.execute(f"DELETE FROM {table} WHERE resident_code = ?", (old_code,))
            if items.get(MY_NUMBER):
                self.know_number(self._db, str(items[MY_NUMBER]), "notice")
                self.hold_number(self._db, str(items[MY_NUMBER]), code, "notice")
            self._db.execute(
                "INSERT INTO prefecture_notices VALUES (?, ?, ?, ?, ?, ?)",
                (code, notice.sequence, notice.notice_id, kind, self._seal(notice.items), now),
            )
            for table in (PREFECTURE, NATIONAL):  # the national server's copy, forwarded at once
                self._db.execute(
                    f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?)",
                    (code, notice.sequence, kind, sealed, now),
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
