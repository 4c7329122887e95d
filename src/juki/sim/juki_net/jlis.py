"""J-LIS (地方公共団体情報システム機構), simulated: the numbers it gives the cities, over the 住基ネット's mutual TLS
(the wire: juki.cs.jlis_wire; docs/cs-jlis.md, docs/juki-net-simulator.md).

- `POST /jlis/v1/resident-code-blocks`: a block of 住民票コード (住基法30条の2第2項), each with its check digit, never
  issued before to anyone and held by no one the network knows; the same request id answers the same block.
- `POST /jlis/v1/number-requests` (202) and `GET /jlis/v1/number-answers`: a 個人番号 生成要求 or 変更請求 (番号法8条,
  7条2項) for a 住民票コード the national server holds as the city's resident — else `not_yet_known` (the person's
  出生 or 転入 notice has not reached it); the number (check digit right, never generated twice: every number the
  network knows is in the store's `known_my_numbers` digests) is put on the city's answers feed.
- `POST /jlis/v1/mailing` and `GET /jlis/v1/mailing?resident_code=`: the 送付先情報 (個人番号カード省令23条の2),
  checked for its form (the 31 item names of mailing_info_items.csv, 項目長 equal to the characters of its item,
  外字数 and 郵便番号 of their form) and against the 本人確認情報 the national server holds (seed II(3)-3 情報の突合:
  the person known, current and present, the 市町村コード the city's, and — unless it goes to a 居所 registered for
  delivery — the 送付先住所 the person's 住所, and the 送付先郵便番号 its 郵便番号).

- `POST /jlis/v1/link-code-requests`: a city's 符号取得の要求 (番号法施行令20条): the 個人番号 turned into the
  住民票コード of the person who holds it — a number J-LIS generated, or the item 個人番号 of the prefecture's copy
  of the 本人確認情報 (the store's `my_number_holders`, keyed digests), the person the city's resident and still
  holding that number — else `not_yet_known`; then the 情報提供ネットワークシステム is asked to issue the 符号 for
  the serial (`IssueLinkCode`: by default the network simulator's J-LIS link, `network_link`, configured by an
  `info-network.json`). No network configured, or none reachable: 503 `network_unreachable` (the CS asks again);
  the network's refusals (`unknown_serial`, `serial_reused`) are passed on. A serial the network took is kept
  (`jlis_link_codes`: the serial, the city, the number's keyed digest, the 住民票コード), so that a repeat is
  acknowledged once and the serial with another number is `serial_reused`.

Everything is kept in the simulator's SQLite file (a restart never issues a code or a number again); an answer and
a record are sealed at rest like the items (store.seal_json). The log names request, block and record ids and
codes — never a number, a 住民票コード or another value.

**Test hooks** (in-process only, no endpoint): a test opens its own `Jlis(JukiNetStore(folder))` over the running
simulator's folder and makes J-LIS misbehave: `force_next_block(codes)` (the next block issues exactly these, even
codes issued or held before), `force_next_number(number)` (the next request is answered with it, even one known),
`inject_answer(city_code, entry)` (any entry appended to the city's feed: an answer to a request never made, a
malformed one).
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from juki.cs.jlis_wire import (
    ANSWERS_PAGE,
    ID_MAX,
    KINDS,
    LINK_CODES_PATH,
    MAILING_ADDRESS,
    MAILING_CITY,
    MAILING_FLAGS,
    MAILING_ITEMS,
    MAILING_NAME,
    MAX_BLOCK,
    NETWORK_UNREACHABLE,
    NOT_YET_KNOWN,
)
from juki.domain.identifiers import generate_my_number, generate_resident_code, my_number_check_digit
from juki.intermediate.wire import NetworkUnreachable
from juki.sim.juki_net.checks import MY_NUMBER, RECORD_STATUS, Problem, is_resident_code
from juki.sim.juki_net.store import NATIONAL, PREFECTURE, JukiNetStore

log = logging.getLogger("juki.sim.juki_net.jlis")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jlis_blocks (
    block_id TEXT PRIMARY KEY,
    block_request_id TEXT NOT NULL UNIQUE,
    city_code TEXT NOT NULL,
    size INTEGER NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jlis_issued_codes (
    code TEXT PRIMARY KEY,
    block_id TEXT NOT NULL,
    place INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jlis_issued_codes_block ON jlis_issued_codes (block_id, place);
CREATE TABLE IF NOT EXISTS jlis_number_requests (
    request_id TEXT PRIMARY KEY,
    city_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jlis_number_answers (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    city_code TEXT NOT NULL,
    answer BLOB NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jlis_number_answers_city ON jlis_number_answers (city_code, seq);
CREATE TABLE IF NOT EXISTS jlis_mailing (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    city_code TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    record BLOB NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jlis_mailing_code ON jlis_mailing (resident_code, seq);
CREATE TABLE IF NOT EXISTS jlis_link_codes (
    serial TEXT PRIMARY KEY,
    city_code TEXT NOT NULL,
    number_digest TEXT NOT NULL,
    resident_code TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jlis_test_hooks (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""
_CITY = re.compile(r"[0-9]{6}")
_POSTAL = re.compile(r"[0-9]{3}-?[0-9]{4}")
_CHUNK = 500
_rng = secrets.SystemRandom()


def _format(item: str | None, message: str) -> Problem:
    return Problem(422, "format_error", item, message)


def _mismatch(item: str, message: str) -> Problem:
    return Problem(422, "mismatch", item, message)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _object(body: object, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _format(None, f"{what}は JSON のオブジェクトでなければなりません")
    return body


def _id(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= ID_MAX:
        raise _format(None, f"{name} は{ID_MAX}文字までの空でない文字列でなければなりません")
    return value


def _city(body: dict[str, Any]) -> str:
    value = body.get("city_code")
    if not isinstance(value, str) or not _CITY.fullmatch(value):
        raise _format("市町村コード", "city_code は6桁の数字でなければなりません")
    return value


def _resident_code(value: object) -> str:
    if not is_resident_code(value):
        raise _format("住民票コード", "住民票コードは11桁の数字で検査数字が正しくなければなりません")
    return str(value)


def _my_number(value: object) -> str:
    """12 ASCII digits with their check digit; else a format error that never quotes what was sent."""
    if not isinstance(value, str) or len(value) != 12 or not value.isascii() or not value.isdigit():
        raise _format(MY_NUMBER, "個人番号は12桁の数字でなければなりません")
    if my_number_check_digit(value[:11]) != value[11]:
        raise _format(MY_NUMBER, "個人番号の検査数字が正しくありません")
    return value


# --- the 情報提供ネットワークシステム, as J-LIS reaches it -----------------------------------------------------------

# The network's refusals (juki.intermediate.wire) and how J-LIS passes each on to the city (status, code): a field
# the network found wrong in J-LIS's own call is, as far as the city can tell, a format error of its request.
NETWORK_REFUSALS = {
    "unknown_serial": (422, "unknown_serial"),
    "serial_reused": (409, "serial_reused"),
    "invalid_field": (422, "format_error"),
}
NETWORK_LINK_MODULE = "juki.sim.info_network.jlis_link"  # the network simulator's side of J-LIS's link


class NetworkRefusal(Exception):
    """The network refused to issue the 符号: `code` is one of NETWORK_REFUSALS."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class IssueLinkCode(Protocol):
    """Ask the 情報提供ネットワークシステム to issue the 符号 of the person of `resident_code` for the city's `serial`
    (`POST {network}/network/v1/link-codes` with J-LIS's certificate, juki.intermediate.wire). True when the network
    had issued it already (a repeat). Raises `NetworkUnreachable` when there is no usable answer and
    `NetworkRefusal` when it refuses."""

    def __call__(self, serial: str, city_code: str, resident_code: str) -> bool: ...


def network_link(config: Path) -> IssueLinkCode:
    """The default link: the network simulator's `issue_link_code(config, serial, city_code, resident_code)`, imported
    when first used (the network may be installed after the 住基ネット). Not installed → `NetworkUnreachable`; its
    refusals (an exception with a `code` the wire knows) → `NetworkRefusal`; anything else → `NetworkUnreachable`,
    named by its class only."""

    def issue(serial: str, city_code: str, resident_code: str) -> bool:
        try:
            link = importlib.import_module(NETWORK_LINK_MODULE)
        except ImportError:
            raise NetworkUnreachable("the 情報提供ネットワークシステム's link is not installed") from None
        try:
            return bool(link.issue_link_code(config, serial, city_code, resident_code))
        except NetworkUnreachable:
            raise
        except Exception as exc:  # the network's refusal type is its own: recognised by its code
            code = getattr(exc, "code", None)
            if isinstance(code, str) and code in NETWORK_REFUSALS:
                raise NetworkRefusal(code) from None
            raise NetworkUnreachable(f"the network's link failed: {type(exc).__name__}") from None

    return issue


def _network_down() -> Problem:
    return Problem(503, NETWORK_UNREACHABLE, None, "情報提供ネットワークシステムに接続できません")


class Jlis:
    """J-LIS's tables in the simulator's file, through the store's one lock (store.locked)."""

    def __init__(self, store: JukiNetStore, issue_link_code: IssueLinkCode | None = None) -> None:
        self.store, self.issue_link_code = store, issue_link_code
        with store.locked() as db:
            db.executescript(_SCHEMA)

    # --- the national server's copy, read under the lock already held ----------------------------------------

    def _national(self, db: sqlite3.Connection, code: str) -> dict[str, str | None] | None:
        row = db.execute(f"SELECT items FROM {NATIONAL} WHERE resident_code = ?", (code,)).fetchone()
        return None if row is None else self.store.unseal(row[0])

    # --- 住民票コード blocks -----------------------------------------------------------------------------------

    def issue_block(self, raw: object) -> dict[str, Any]:
        body = _object(raw, "払出し要求")
        request_id, city = _id(body, "block_request_id"), _city(body)
        size = body.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_BLOCK:
            raise _format(None, f"size は1〜{MAX_BLOCK}の整数でなければなりません")
        with self.store.locked() as db:
            row = db.execute(
                "SELECT block_id, city_code, size FROM jlis_blocks WHERE block_request_id = ?", (request_id,)
            ).fetchone()
            if row is not None:
                if (row[1], row[2]) != (city, size):
                    raise Problem(409, "block_request_reused", None, "この要求IDは別の内容で払い出し済みです")
                return self._block(db, request_id, str(row[0]))
            block_id = f"JB{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(6)}"
            with _transaction(db):
                codes = self._fresh_codes(db, size)
                db.execute(
                    "INSERT INTO jlis_blocks VALUES (?, ?, ?, ?, ?)",
                    (block_id, request_id, city, size, _now()),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO jlis_issued_codes VALUES (?, ?, ?)",
                    [(code, block_id, i) for i, code in enumerate(codes)],
                )
            return {"block_request_id": request_id, "block_id": block_id, "codes": codes}

    def _block(self, db: sqlite3.Connection, request_id: str, block_id: str) -> dict[str, Any]:
        codes = [r[0] for r in db.execute(
            "SELECT code FROM jlis_issued_codes WHERE block_id = ? ORDER BY place", (block_id,)
        )]  # fmt: skip
        return {"block_request_id": request_id, "block_id": block_id, "codes": codes}

    def _fresh_codes(self, db: sqlite3.Connection, size: int) -> list[str]:
        forced = self._pop_hook(db, "next_block")
        if isinstance(forced, list):
            return [str(c) for c in forced]
        codes: list[str] = []
        while len(codes) < size:
            wanted = {generate_resident_code(_rng) for _ in range(size - len(codes))} - set(codes)
            codes += sorted(wanted - self._taken(db, sorted(wanted)))
        return codes

    def _taken(self, db: sqlite3.Connection, codes: list[str]) -> set[str]:
        """Those of `codes` issued before, or held by a person the network knows."""
        taken: set[str] = set()
        for i in range(0, len(codes), _CHUNK):
            chunk = codes[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for table, column in (("jlis_issued_codes", "code"), (NATIONAL, "resident_code"),
                                  (PREFECTURE, "resident_code")):  # fmt: skip
                rows = db.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk)
                taken |= {str(r[0]) for r in rows}
        return taken

    # --- 個人番号 requests and the answers feed ------------------------------------------------------------------

    def take_request(self, raw: object) -> dict[str, Any]:
        body = _object(raw, "要求")
        request_id, city = _id(body, "request_id"), _city(body)
        kind, code = body.get("kind"), _resident_code(body.get("resident_code"))
        if kind not in KINDS:
            raise _format(None, "kind は「生成」か「変更」でなければなりません")
        with self.store.locked() as db:
            row = db.execute(
                "SELECT city_code, kind, resident_code FROM jlis_number_requests WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            if row is not None:
                if tuple(row) != (city, kind, code):
                    raise Problem(409, "request_reused", None, "この要求IDは別の内容で受け付け済みです")
                return {"request_id": request_id, "duplicate": True}
            held = self._national(db, code)
            if held is None or held.get("市町村コード") != city:
                raise Problem(
                    409, "not_yet_known", None, "全国サーバがこの市町村の住民として保有していません"
                )
            with _transaction(db):
                number = self._new_number(db)
                self.store.hold_number(db, number, code, "generated")
                db.execute("INSERT INTO jlis_number_requests VALUES (?, ?, ?, ?, ?)",
                           (request_id, city, kind, code, _now()))  # fmt: skip
                answer = {"request_id": request_id, "resident_code": code, "my_number": number}
                self._append_answer(db, city, answer)
        return {"request_id": request_id, "duplicate": False}

    def _new_number(self, db: sqlite3.Connection) -> str:
        forced = self._pop_hook(db, "next_number")
        if isinstance(forced, str):
            return forced
        while True:
            number = generate_my_number(_rng)
            if self.store.know_number(db, number, "generated"):
                return number

    def _append_answer(self, db: sqlite3.Connection, city: str, answer: object) -> None:
        db.execute(
            "INSERT INTO jlis_number_answers (city_code, answer, answered_at) VALUES (?, ?, ?)",
            (city, self.store.seal_json(answer), _now()),
        )

    def answers(self, city: str, after: int) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT seq, answer FROM jlis_number_answers WHERE city_code = ? AND seq > ? ORDER BY seq LIMIT ?",
                (city, after, ANSWERS_PAGE),
            ).fetchall()
        found = []
        for seq, sealed in rows:
            entry = self.store.unseal_json(sealed)
            found.append({"seq": int(seq)} | (entry if isinstance(entry, dict) else {"answer": entry}))
        return found

    # --- 符号取得の要求 -----------------------------------------------------------------------------------------------

    def link_code(self, raw: object) -> dict[str, Any]:
        """A city's 符号取得の要求 (module docstring): the person found, then the network asked outside the lock (it
        may take its time); what the network took is kept."""
        body = _object(raw, "符号取得の要求")
        serial, city = _id(body, "serial"), _city(body)
        number = _my_number(body.get("my_number"))
        digest = self.store.digest(number)
        with self.store.locked() as db:
            done = self._issued(db, serial, city, digest)
            if done is not None:
                return done
            code = self._holder(db, number, city)
        if self.issue_link_code is None:
            raise _network_down()
        try:
            duplicate = self.issue_link_code(serial, city, code)
        except NetworkUnreachable:
            raise _network_down() from None
        except NetworkRefusal as refused:
            status, code = NETWORK_REFUSALS[refused.code]
            raise Problem(
                status, code, None, "情報提供ネットワークシステムが符号の生成を拒否しました"
            ) from None
        with self.store.locked() as db:
            db.execute("INSERT OR IGNORE INTO jlis_link_codes VALUES (?, ?, ?, ?, ?)",
                       (serial, city, digest, code, _now()))  # fmt: skip
        return {"serial": serial, "duplicate": duplicate}

    def _issued(self, db: sqlite3.Connection, serial: str, city: str, digest: str) -> dict[str, Any] | None:
        """A repeat of a serial the network took: acknowledged once more; with another city or number, refused."""
        row = db.execute(
            "SELECT city_code, number_digest FROM jlis_link_codes WHERE serial = ?", (serial,)
        ).fetchone()
        if row is None:
            return None
        if tuple(row) != (city, digest):
            raise Problem(409, "serial_reused", None, "この処理通番は別の住民の符号取得に使われています")
        return {"serial": serial, "duplicate": True}

    def _holder(self, db: sqlite3.Connection, number: str, city: str) -> str:
        """The 住民票コード of the city's resident who holds the number (the prefecture's copy says so, or it has no
        number yet and J-LIS generated this one for the person); else `not_yet_known`."""
        code = self.store.holder(db, number)
        row = None if code is None else db.execute(
            f"SELECT items FROM {PREFECTURE} WHERE resident_code = ?", (code,)
        ).fetchone()  # fmt: skip
        held = None if row is None else self.store.unseal(row[0])
        if (
            code is None
            or held is None
            or held.get("市町村コード") != city
            or (held.get(MY_NUMBER) or number) != number  # the person's number changed since
        ):
            raise Problem(409, NOT_YET_KNOWN, None, "この個人番号の住民を保有していません")
        return code

    # --- 送付先情報 -------------------------------------------------------------------------------------------------

    def keep_mailing(self, raw: object) -> dict[str, Any]:
        body = _object(raw, "送付先情報")
        record_id, city = _id(body, "record_id"), _city(body)
        code = _resident_code(body.get("resident_code"))
        to_residence = body.get("to_residence", False)
        if not isinstance(to_residence, bool):
            raise _format(None, "to_residence は真偽値でなければなりません")
        items = check_mailing_items(body.get("items"))
        kept = {"city_code": city, "resident_code": code, "to_residence": to_residence, "items": items}
        with self.store.locked() as db:
            row = db.execute("SELECT record FROM jlis_mailing WHERE record_id = ?", (record_id,)).fetchone()
            if row is not None:
                if self.store.unseal_json(row[0]) != kept:
                    raise Problem(
                        409, "record_reused", None, "この送付先管理の記録は別の内容で受け付け済みです"
                    )
                return {"record_id": record_id, "duplicate": True}
            match(self._national(db, code), items, city, to_residence)
            db.execute(
                "INSERT INTO jlis_mailing (record_id, city_code, resident_code, record, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (record_id, city, code, self.store.seal_json(kept), _now()),
            )
        return {"record_id": record_id, "duplicate": False}

    def mailing_of(self, code: str) -> list[dict[str, Any]]:
        with self.store.locked() as db:
            rows = db.execute(
                "SELECT record FROM jlis_mailing WHERE resident_code = ? ORDER BY seq", (code,)
            ).fetchall()
        records = []
        for (sealed,) in rows:
            kept = self.store.unseal_json(sealed)
            if isinstance(kept, dict):
                items = {name: kept["items"].get(name) for name in MAILING_ITEMS}
                records.append(items | {"resident_code": kept["resident_code"]})
        return records

    # --- the test hooks (module docstring) ----------------------------------------------------------------------

    def _pop_hook(self, db: sqlite3.Connection, name: str) -> object:
        row = db.execute("SELECT value FROM jlis_test_hooks WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        db.execute("DELETE FROM jlis_test_hooks WHERE name = ?", (name,))
        return self.store.unseal_json(row[0])

    def _set_hook(self, name: str, value: object) -> None:
        with self.store.locked() as db:
            db.execute(
                "INSERT OR REPLACE INTO jlis_test_hooks VALUES (?, ?)", (name, self.store.seal_json(value))
            )

    def force_next_block(self, codes: list[str]) -> None:
        self._set_hook("next_block", codes)

    def force_next_number(self, number: str) -> None:
        self._set_hook("next_number", number)

    def inject_answer(self, city: str, entry: object) -> None:
        with self.store.locked() as db, _transaction(db):
            self._append_answer(db, city, entry)


# --- the 送付先情報's checks ------------------------------------------------------------------------------------------


def _as_count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _check_item(name: str, value: object, items: dict[str, Any]) -> None:
    if (
        value is not None
        and not isinstance(value, str)
        and (isinstance(value, bool) or not isinstance(value, int))
    ):
        raise _format(name, f"{name}の値は文字列、整数か null でなければなりません")
    if name.endswith("項目長"):
        base = name.removesuffix("項目長").rstrip()
        text = items.get(base)
        if isinstance(text, str) and _as_count(value) != len(text):
            raise _format(name, f"{name}が{base}の文字数と一致しません")
    elif "外字数" in name and value is not None and (_as_count(value) is None or int(str(value)) < 0):
        raise _format(name, f"{name}は0以上の整数でなければなりません")
    elif name.endswith("郵便番号") and value is not None and not _POSTAL.fullmatch(str(value)):
        raise _format(name, f"{name}は7桁の数字（3桁-4桁）でなければなりません")


def check_mailing_items(raw: object) -> dict[str, Any]:
    """The 31 items, each of its form (module docstring), or the `format_error` naming the first one wrong."""
    if not isinstance(raw, dict):
        raise _format(None, "items は項目名と値の対応でなければなりません")
    for name in raw:
        if name not in MAILING_ITEMS and name not in MAILING_FLAGS:
            raise _format(str(name)[:40], "送付先情報の項目ではありません")
        if name in MAILING_FLAGS and not isinstance(raw[name], str | None):
            raise _format(name, f"{name}は文字列でなければなりません")
    for name in MAILING_ITEMS:
        if name not in raw:
            raise _format(name, f"{name}がありません")
        _check_item(name, raw[name], raw)
    for name in (MAILING_ADDRESS, MAILING_NAME, MAILING_CITY):
        if not isinstance(raw[name], str) or not raw[name]:
            raise _format(name, f"{name}がありません")
    if not _CITY.fullmatch(str(raw[MAILING_CITY])):
        raise _format(MAILING_CITY, f"{MAILING_CITY}は6桁の数字でなければなりません")
    return dict(raw)


def _same_address(sent: str, held: str | None) -> bool:
    """The 住所 the 本人確認情報 holds (without 方書), or it followed by a space and the 方書."""
    return bool(held) and (sent == held or sent.startswith((f"{held} ", f"{held}\u3000")))


def _digits(value: object) -> str:
    return re.sub(r"[^0-9]", "", str(value or ""))


def match(held: dict[str, str | None] | None, items: dict[str, Any], city: str, to_residence: bool) -> None:
    """Seed II(3)-3 情報の突合: the record against the 本人確認情報 the national server holds; the first mismatch."""
    if held is None or held.get(RECORD_STATUS, "0") not in ("0", None):
        raise _mismatch("住民票コード", "本人確認情報に現存する住民として保有していない住民票コードです")
    if items[MAILING_CITY] != city or held.get("市町村コード") != city:
        raise _mismatch(MAILING_CITY, "市町村コードが本人確認情報と一致しません")
    if to_residence:
        return
    if not _same_address(str(items[MAILING_ADDRESS]), held.get("住所")):
        raise _mismatch(MAILING_ADDRESS, "送付先住所が本人確認情報の住所と一致しません")
    postal, held_postal = _digits(items.get("送付先郵便番号")), _digits(held.get("郵便番号"))
    if postal and held_postal and postal != held_postal:
        raise _mismatch("送付先郵便番号", "送付先郵便番号が本人確認情報の郵便番号と一致しません")


# --- HTTP ---------------------------------------------------------------------------------------------------------


def _body(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _id_of(body: object, name: str) -> str:
    return str(body.get(name) if isinstance(body, dict) else None)[:ID_MAX]


def router(store: JukiNetStore, issue_link_code: IssueLinkCode | None = None) -> APIRouter:
    jlis = Jlis(store, issue_link_code)
    api = APIRouter()

    @api.post(LINK_CODES_PATH)
    async def link_code_requests(request: Request) -> JSONResponse:
        body = _body(await request.body())
        try:  # in a worker thread: the network's answer may take its time, and the loop serves the others
            issued = await run_in_threadpool(jlis.link_code, body)
        except Problem as refused:
            log.info(
                "jlis: link code request %s: %s (%s)",
                _id_of(body, "serial"),
                refused.code,
                refused.item or "-",
            )
            return refused.answer()
        log.info(
            "jlis: link code request %s taken%s", issued["serial"], " again" if issued["duplicate"] else ""
        )
        return JSONResponse(issued, status_code=202)

    @api.post("/jlis/v1/resident-code-blocks")
    async def blocks(request: Request) -> JSONResponse:
        body = _body(await request.body())
        try:
            block = jlis.issue_block(body)
        except Problem as refused:
            log.info("jlis: block request %s refused: %s (%s)", _id_of(body, "block_request_id"), refused.code,
                     refused.item or "-")  # fmt: skip
            return refused.answer()
        log.info("jlis: block %s issued (%d codes)", block["block_id"], len(block["codes"]))
        return JSONResponse(block)

    @api.post("/jlis/v1/number-requests")
    async def number_requests(request: Request) -> JSONResponse:
        body = _body(await request.body())
        try:
            taken = jlis.take_request(body)
        except Problem as refused:
            log.info(
                "jlis: request %s: %s (%s)", _id_of(body, "request_id"), refused.code, refused.item or "-"
            )
            return refused.answer()
        log.info("jlis: request %s taken%s", taken["request_id"], " again" if taken["duplicate"] else "")
        return JSONResponse(taken, status_code=202)

    @api.get("/jlis/v1/number-answers")
    def number_answers(city_code: str = "", after: int = 0) -> JSONResponse:
        if not _CITY.fullmatch(city_code):
            return _format("市町村コード", "city_code は6桁の数字でなければなりません").answer()
        return JSONResponse({"answers": jlis.answers(city_code, after)})

    @api.post("/jlis/v1/mailing")
    async def mailing(request: Request) -> JSONResponse:
        body = _body(await request.body())
        try:
            kept = jlis.keep_mailing(body)
        except Problem as refused:
            log.info("jlis: mailing %s refused: %s (%s)", _id_of(body, "record_id"), refused.code,
                     refused.item or "-")  # fmt: skip
            return refused.answer()
        log.info("jlis: mailing %s kept%s", kept["record_id"], " again" if kept["duplicate"] else "")
        return JSONResponse(kept)

    @api.get("/jlis/v1/mailing")
    def mailing_of(resident_code: str = "") -> JSONResponse:
        if not is_resident_code(resident_code):
            return _format(
                "住民票コード", "住民票コードは11桁の数字で検査数字が正しくなければなりません"
            ).answer()
        return JSONResponse({"records": jlis.mailing_of(resident_code)})

    return api
