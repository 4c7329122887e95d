"""What the simulated 住基ネット holds, in its own SQLite file in the data folder (`juki-net.sqlite3`), so that a
restart keeps it: the notices the prefecture server received, the 本人確認情報 it holds per person, and the
national server's (全国サーバ, J-LIS) copy, which every accepted notice updates too (住基法30条の7).

The items are kept encrypted (AES-GCM, the key in `store.key` beside the file, owner only): they carry the 個人番号,
which is never at rest in plain (番号法 and the seed's 特定個人情報 safeguards), not even in a simulator's file.
"""

from __future__ import annotations

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
from juki.sim.juki_net.checks import Held, Problem, applied, check_logic, check_order

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
"""


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
        self._cipher = AESGCM(_key(folder))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / DB_FILE, check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)

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

    def unseal(self, sealed: bytes) -> dict[str, str | None]:
        return self._open(sealed)

    def _seal(self, items: dict[str, str | None]) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._cipher.encrypt(nonce, json.dumps(items, ensure_ascii=False).encode(), None)

    def _open(self, sealed: bytes) -> dict[str, str | None]:
        items: dict[str, str | None] = json.loads(self._cipher.decrypt(sealed[:12], sealed[12:], None))
        return items

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
            check_order(notice, held)
            check_logic(notice, held)
            self._apply(notice, applied(notice, held))
            return False

    def _repeat(self, notice: Notice) -> bool:
        before = self._received(notice.resident_code, notice.sequence)
        if before is not None and before == (notice.kind.value, notice.items):
            return True
        raise Problem(409, "sequence_reused", None, "この更新順番号は別の内容で受理済みです")

    def _apply(self, notice: Notice, items: dict[str, str | None]) -> None:
        now, code, kind = _now(), notice.resident_code, notice.kind.value
        sealed = self._seal(items)
        self._db.execute("BEGIN IMMEDIATE")
        try:
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
