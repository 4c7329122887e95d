"""What the simulated 情報提供ネットワークシステム holds, in its own SQLite file in the data folder
(`info-network.sqlite3`), so that a restart keeps it: the serials it gave each city, the 符号 it issued (one per
city and person, stable once issued), each city's inbox, the 照会 and their answers, and the answers a city sent
later (a held answer released or refused: the network's deliveries to the requester).

The network never sees a 個人番号: J-LIS gives it the 住民票コード, the city answers by 符号 and item values. An
answer carrying a value shaped like a 個人番号 (12 digits with a valid check digit) is refused, so that none is
ever at rest here even when a city errs.

A 照会 is one row per time it was sent (`queries`): a requester that sends a query_id again sends a second row,
which the city sees as a second message with the same query_id (and refuses as a replay). An answer for a query_id
goes to the oldest row still waiting; with none waiting it is a repeat (the same answer again) or a later answer
(a delivery).
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from juki.domain.identifiers import my_number_check_digit
from juki.intermediate.wire import INBOX_PAGE, LINK_CODE_LENGTH, SERIAL_LENGTH, QueryAnswer

DB_FILE = "info-network.sqlite3"
WAITING, ANSWERED, NO_ANSWER, BY_NETWORK = "waiting", "answered", "no_answer", "network"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS serials (
    serial TEXT PRIMARY KEY,
    city_code TEXT NOT NULL,
    resident_code TEXT,
    issued_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS link_codes (
    city_code TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    link_code TEXT NOT NULL UNIQUE,
    issued_at TEXT NOT NULL,
    PRIMARY KEY (city_code, resident_code)
);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    city_code TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_city ON inbox (city_code, seq);
CREATE TABLE IF NOT EXISTS queries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id TEXT NOT NULL,
    requester TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    information TEXT NOT NULL,
    items TEXT,
    link_code TEXT,
    city_code TEXT,
    asked_at TEXT NOT NULL,
    state TEXT NOT NULL,
    answer TEXT,
    answered_at TEXT
);
CREATE INDEX IF NOT EXISTS queries_id ON queries (query_id, id);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    query_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    answer TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_TWELVE_DIGITS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


class Refusal(Exception):
    """The network's refusal: the HTTP status, the wire's code and a message that names no value."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class NewQuery:
    """A 照会 as the requester sent it, with the 符号 and the city the network resolved."""

    query_id: str
    requester: str
    legal_basis: str
    information: str
    items: tuple[str, ...] | None
    link_code: str
    city_code: str

    def message(self) -> dict[str, Any]:
        return {
            "kind": "query",
            "query_id": self.query_id,
            "requester": self.requester,
            "legal_basis": self.legal_basis,
            "information": self.information,
            "items": None if self.items is None else list(self.items),
            "link_code": self.link_code,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def random_text(length: int) -> str:
    """Base32 letters and digits: never a run of 12 digits that could read as a 個人番号."""
    return "".join(secrets.choice(_BASE32) for _ in range(length))


def holds_a_my_number(data: dict[str, str | None] | None) -> bool:
    for value in (data or {}).values():
        for run in _TWELVE_DIGITS.findall(value or ""):
            if my_number_check_digit(run[:11]) == run[11]:
                return True
    return False


def _answer_json(answer: QueryAnswer) -> str:
    return json.dumps(
        {"status": answer.status, "data": answer.data, "message": answer.message},
        ensure_ascii=False,
        sort_keys=True,
    )


def _answer(query_id: str, text: str) -> QueryAnswer:
    row = json.loads(text)
    return QueryAnswer(query_id, row["status"], row["data"], row["message"])


class InfoNetworkStore:
    """The simulator's tables: one connection, one lock (each step is one short write)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(folder / DB_FILE, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # A requester that waited when the network went down has lost its connection: nobody waits any more.
        self._db.execute("UPDATE queries SET state = ? WHERE state = ?", (NO_ANSWER, WAITING))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- serials and 符号 -----------------------------------------------------------------------------------

    def new_serial(self, city_code: str) -> str:
        with self._lock:
            while True:
                serial = random_text(SERIAL_LENGTH)
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO serials (serial, city_code, issued_at) VALUES (?, ?, ?)",
                    (serial, city_code, _now()),
                )
                if cursor.rowcount == 1:
                    return serial

    def issue_link_code(self, serial: str, city_code: str, resident_code: str) -> bool:
        """J-LIS asks for the person's 符号 for the city's serial: queued for the city's inbox once; True when the
        serial had it already (a repeat)."""
        with self._lock:
            row = self._db.execute(
                "SELECT resident_code FROM serials WHERE serial = ? AND city_code = ?", (serial, city_code)
            ).fetchone()
            if row is None:
                raise Refusal(404, "unknown_serial", "この処理通番は発行されていません")
            if row[0] is not None:
                if row[0] == resident_code:
                    return True
                raise Refusal(409, "serial_reused", "この処理通番は別の人に使われています")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                link_code = self._link_code(city_code, resident_code)
                self._db.execute(
                    "UPDATE serials SET resident_code = ?, used_at = ? WHERE serial = ?",
                    (resident_code, _now(), serial),
                )
                self._queue(city_code, {"kind": "link_code", "serial": serial, "link_code": link_code})
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return False

    def _link_code(self, city_code: str, resident_code: str) -> str:
        """The person's 符号 for the city: the one issued before, else a new one."""
        row = self._db.execute(
            "SELECT link_code FROM link_codes WHERE city_code = ? AND resident_code = ?",
            (city_code, resident_code),
        ).fetchone()
        if row is not None:
            return str(row[0])
        while True:
            code = random_text(LINK_CODE_LENGTH)
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO link_codes VALUES (?, ?, ?, ?)",
                (city_code, resident_code, code, _now()),
            )
            if cursor.rowcount == 1:
                return code

    def link_code_of(self, resident_code: str) -> tuple[str, str] | None:
        """The city and the 符号 the network issued last for the person (None: never issued)."""
        with self._lock:
            row = self._db.execute(
                "SELECT city_code, link_code FROM link_codes WHERE resident_code = ? "
                "ORDER BY issued_at DESC, rowid DESC LIMIT 1",
                (resident_code,),
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def city_of(self, link_code: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT city_code FROM link_codes WHERE link_code = ?", (link_code,)
            ).fetchone()
        return None if row is None else str(row[0])

    # --- the inbox --------------------------------------------------------------------------------------------

    def _queue(self, city_code: str, message: dict[str, Any]) -> int:
        cursor = self._db.execute(
            "INSERT INTO inbox (city_code, message, at) VALUES (?, ?, ?)",
            (city_code, json.dumps(message, ensure_ascii=False), _now()),
        )
        return int(cursor.lastrowid or 0)

    def inbox(self, city_code: str, after: int, limit: int = INBOX_PAGE) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, message FROM inbox WHERE city_code = ? AND seq > ? ORDER BY seq LIMIT ?",
                (city_code, after, limit),
            ).fetchall()
        return [{"seq": int(seq), **json.loads(message)} for seq, message in rows]

    # --- 照会 and answers ----------------------------------------------------------------------------------

    def ask(self, query: NewQuery) -> int:
        """Put the 照会 into the city's inbox; the row that waits for its answer."""
        items = None if query.items is None else json.dumps(list(query.items), ensure_ascii=False)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO queries (query_id, requester, legal_basis, information, items, link_code,"
                    " city_code, asked_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (query.query_id, query.requester, query.legal_basis, query.information, items,
                     query.link_code, query.city_code, _now(), WAITING),
                )  # fmt: skip
                self._queue(query.city_code, query.message())
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return int(cursor.lastrowid or 0)

    def answered_by_network(self, asked: NewQuery, answer: QueryAnswer) -> None:
        """A 照会 the network answered itself (no 符号): recorded, the city never sees it."""
        items = None if asked.items is None else json.dumps(list(asked.items), ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO queries (query_id, requester, legal_basis, information, items, asked_at, state,"
                " answer, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (asked.query_id, asked.requester, asked.legal_basis, asked.information, items, _now(), BY_NETWORK,
                 _answer_json(answer), _now()),
            )  # fmt: skip

    def answer_of(self, row_id: int) -> QueryAnswer | None:
        with self._lock:
            row = self._db.execute("SELECT query_id, answer FROM queries WHERE id = ?", (row_id,)).fetchone()
        return None if row is None or row[1] is None else _answer(str(row[0]), str(row[1]))

    def give_up(self, row_id: int) -> QueryAnswer | None:
        """The requester stops waiting: its answer if it came meanwhile, else the row no longer waits."""
        with self._lock:
            self._db.execute(
                "UPDATE queries SET state = ? WHERE id = ? AND state = ?", (NO_ANSWER, row_id, WAITING)
            )
            row = self._db.execute("SELECT query_id, answer FROM queries WHERE id = ?", (row_id,)).fetchone()
        return None if row is None or row[1] is None else _answer(str(row[0]), str(row[1]))

    def answer(self, city_code: str, answer: QueryAnswer) -> bool:
        """The city's answer to a query_id it was asked: True when the network had it already."""
        if holds_a_my_number(answer.data):
            raise Refusal(422, "my_number_in_answer", "回答に個人番号を含めることはできません")
        text = _answer_json(answer)
        with self._lock:
            rows = self._db.execute(
                "SELECT id, state, answer FROM queries WHERE query_id = ? AND city_code = ? ORDER BY id",
                (answer.query_id, city_code),
            ).fetchall()
            if not rows:
                raise Refusal(404, "unknown_query", "この照会番号の照会はありません")
            waiting = [row_id for row_id, state, _ in rows if state == WAITING]
            if waiting:
                self._db.execute(
                    "UPDATE queries SET state = ?, answer = ?, answered_at = ? WHERE id = ?",
                    (ANSWERED, text, _now(), waiting[0]),
                )
                return False
            delivered = self._db.execute(
                "SELECT answer FROM deliveries WHERE query_id = ? AND city_code = ?",
                (answer.query_id, city_code),
            ).fetchall()
            if text in {str(a) for _, _, a in rows if a is not None} | {str(d[0]) for d in delivered}:
                return True
            self._db.execute(
                "INSERT INTO deliveries (query_id, city_code, answer, at) VALUES (?, ?, ?, ?)",
                (answer.query_id, city_code, text, _now()),
            )
            return False

    def deliveries(self, query_id: str) -> list[dict[str, Any]]:
        """The answers the city sent after the first (a held answer released or refused), as delivered."""
        with self._lock:
            rows = self._db.execute(
                "SELECT answer, at FROM deliveries WHERE query_id = ? ORDER BY id", (query_id,)
            ).fetchall()
        return [{**_answer(query_id, str(text)).to_json(), "at": str(at)} for text, at in rows]
